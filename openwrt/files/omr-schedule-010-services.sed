# For OMR's omr-schedule package, applied to its schedule.d/010-services when omr-trackerd
# replaces omr-tracker:  sed -E -i -f omr-schedule-010-services.sed 010-services
#
# 010-services restarts omr-tracker when it finds no omr-tracker-ss, omr-tracker-v2ray or
# omr-tracker-xray process and no /etc/init.d/omr-tracker is running (reference §1.3,
# §8.1 item 11). omr-trackerd runs no proxy trackers, so these checks would restart it
# every minute while Shadowsocks, V2Ray or Xray is enabled (the restart loops of issues
# #3941 and #4238, and the daemon's state lost each time). The change: on each line that
# tests for both a proxy tracker and '/etc/init.d/omr-tracker', the proxy tracker test is
# prefixed with `[ ! -x /usr/sbin/omr-trackerd ] &&`, so it only fires with the shell
# trackers. Nothing else changes:
#  - the Shadowsocks restart checks that test omr-tracker-ss together with ss-redir or
#    ss-local (no /etc/init.d/omr-tracker on their line) keep working: without proxy
#    trackers, they still restart a Shadowsocks that died;
#  - the per-interface `pgrep -f IFACE` check needs no change: omr-trackerd names the
#    interfaces it tracks in its process title (src/core/proctitle.h).
# Lines already holding "omr-trackerd" are left alone, so applying it twice is harmless.
/omr-trackerd/! {
	/pgrep -f '\/etc\/init\.d\/omr-tracker'/ s/(\[ "\$\(pgrep -f omr-tracker-(ss|v2ray|xray)\)" = "" \])/[ ! -x \/usr\/sbin\/omr-trackerd ] \&\& \1/g
}

# shellcheck shell=bash
# The OMR-shaped UCI configuration of the lab router (sourced by tools/lab).
#
# lab_write_config DIR writes DIR/{network,omr-tracker,openmptcprouter} in OpenWrt UCI
# syntax, the way OpenMPTCProuter ships them (reference omr-tracker.md section 2): the
# omr-tracker `defaults` carry the shipped values except hosts/hosts6 (the lab's public
# hosts); `server` is type apiping; two VPSes `vps` (master) and `vps_backup` (backup) by
# name. Plus our own `config daemon 'daemon'` section pointing into the lab state dir.
# Uses: LAB_WANS, LAB_STATE, LAB_PASSWORD, LAB_HOSTS4, LAB_HOSTS6 and the wan_* helpers.

lab_uci_list() { # KEY VALUE... -> one "list" line each
    local k=$1 v
    shift
    for v in "$@"; do
        printf "\tlist %s '%s'\n" "$k" "$v"
    done
}

lab_write_config() {
    local d=$1 i tmp
    mkdir -p "$d"
    tmp=$(mktemp -d "$d/.new.XXXXXX")

    {
        printf "\nconfig interface 'loopback'\n\toption device 'lo'\n\toption proto 'static'\n"
        printf "\toption ipaddr '127.0.0.1'\n\toption netmask '255.0.0.0'\n"
        printf "\nconfig globals 'globals'\n\toption multipath 'enable'\n"
        printf "\toption mptcp_scheduler 'default'\n\toption congestion 'bbr'\n"
        printf "\nconfig device\n\toption name 'br-lan'\n\toption type 'bridge'\n"
        printf "\nconfig interface 'lan'\n\toption device 'br-lan'\n\toption proto 'static'\n"
        printf "\toption ipaddr '192.168.100.1'\n\toption netmask '255.255.255.0'\n"
        printf "\toption multipath 'off'\n\toption ip6assign '64'\n"
        for i in $(seq 1 "$LAB_WANS"); do
            local mp=on
            [ "$i" = 1 ] && mp=master
            printf "\nconfig interface 'wan%s'\n\toption device 'wan%s'\n\toption proto 'static'\n" "$i" "$i"
            printf "\toption ipaddr '%s'\n\toption netmask '255.255.255.0'\n" "$(wan_orig_addr4 "$i")"
            printf "\toption gateway '%s'\n" "$(wan_orig_gw4 "$i")"
            printf "\toption ip6addr '%s/64'\n\toption ip6gw '%s'\n\toption ipv6 '1'\n" \
                "$(wan_orig_addr6 "$i")" "$(wan_orig_gw6 "$i")"
            printf "\toption multipath '%s'\n\toption metric '%s'\n" "$mp" "$i"
            printf "\toption auto '1'\n\toption peerdns '0'\n"
        done
    } >"$tmp/network"

    {
        printf "\nconfig defaults 'defaults'\n"
        printf "\toption enabled '1'\n\toption initial_state 'online'\n\toption family 'ipv4'\n"
        printf "\toption reliability '1'\n\toption interval '2'\n\toption failure_interval '20'\n"
        printf "\toption interval_tries '1'\n\toption count '2'\n\toption tries '3'\n"
        printf "\toption tries_up '5'\n\toption timeout '2'\n\toption wait_test '0'\n"
        printf "\toption type 'ping'\n\toption server_test '0'\n\toption server_http_test '0'\n"
        printf "\toption restart_down '0'\n\toption mail_alert '0'\n"
        # shellcheck disable=SC2086 # one list entry per address
        lab_uci_list hosts $LAB_HOSTS4
        # shellcheck disable=SC2086
        lab_uci_list hosts6 $LAB_HOSTS6
        for i in $(seq 1 "$LAB_WANS"); do
            printf "\nconfig interface 'wan%s'\n\toption enabled '1'\n" "$i"
            printf "\toption family 'ipv4ipv6'\n\toption initial_state 'online'\n"
        done
        printf "\nconfig server 'server'\n\toption enabled '1'\n\toption type 'apiping'\n"
        printf "\toption tries '3'\n\toption timeout '10'\n\toption interval '5'\n"
        printf "\toption initial_state 'online'\n\toption mail_alert '0'\n"
        printf "\n# omr-trackerd's own section (the shell tracker ignores it)\n"
        printf "config daemon 'daemon'\n"
        printf "\toption socket_path '%s/run/omr-trackerd.sock'\n" "$LAB_STATE"
        printf "\toption status_file '%s/run/omr-trackerd.json'\n" "$LAB_STATE"
        printf "\toption log_level 'info'\n"
        printf "\toption hooks_dir '%s/hooks/post-tracking.d'\n" "$LAB_STATE"
        printf "\toption server_hooks_dir '%s/hooks/server-post-tracking.d'\n" "$LAB_STATE"
    } >"$tmp/omr-tracker"

    {
        printf "\nconfig settings 'settings'\n\toption disable_ipv6 '0'\n\toption vpn 'glorytun-tcp'\n"
        printf "\toption proxy 'shadowsocks'\n\toption master 'balancing'\n\toption debug '0'\n"
        printf "\toption external_check '0'\n"
        printf "\nconfig server 'vps'\n\toption username 'openmptcprouter'\n"
        printf "\toption password '%s'\n\toption port '65500'\n\toption master '1'\n" "$LAB_PASSWORD"
        printf "\toption backup '0'\n\toption disabled '0'\n"
        lab_uci_list ip vps.lab.test
        printf "\nconfig server 'vps_backup'\n\toption username 'openmptcprouter'\n"
        printf "\toption password '%s'\n\toption port '65500'\n\toption master '0'\n" "$LAB_PASSWORD"
        printf "\toption backup '1'\n\toption disabled '0'\n"
        lab_uci_list ip vps-backup.lab.test
        for i in $(seq 1 "$LAB_WANS"); do
            local mp=on
            [ "$i" = 1 ] && mp=master
            printf "\nconfig interface 'wan%s'\n\toption multipath '%s'\n" "$i" "$mp"
        done
    } >"$tmp/openmptcprouter"

    chmod 600 "$tmp/openmptcprouter" # holds the VPS key, like /etc/config on a router
    mv -f "$tmp/network" "$tmp/omr-tracker" "$tmp/openmptcprouter" "$d/"
    rmdir "$tmp"
    mkdir -p "$LAB_STATE/run" "$LAB_STATE/hooks/post-tracking.d" \
        "$LAB_STATE/hooks/server-post-tracking.d"
}

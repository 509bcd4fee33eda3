# Helpers shared by tools/cross-build and tools/size-report (sourced, POSIX sh).

CROSS_HOST_PKGS="cmake make python3 procps file g++-mipsel-linux-gnu binutils-mipsel-linux-gnu
  qemu-user qemu-user-binfmt"
CROSS_TARGET_PKGS="libev-dev:mipsel libmnl-dev:mipsel libmbedtls-dev:mipsel
  libgtest-dev:mipsel libcmocka-dev:mipsel libudns0:mipsel libstdc++6:mipsel"
# Host build dependencies of the project itself (tools/install-deps --build has the rest).
CROSS_HOST_DEV_PKGS="libudns-dev"

cross_log() { echo "cross: $*" >&2; }

# True when every package named is installed (names may carry :arch).
cross_installed() {
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            return 1
    done
    return 0
}

# Installs the cross compiler, qemu and the :mipsel libraries; never touches the host's
# libudns-dev (libudns-dev is not Multi-Arch: asking for :mipsel would remove :amd64).
cross_install_mipsel() {
    # shellcheck disable=SC2086
    if cross_installed $CROSS_HOST_PKGS $CROSS_TARGET_PKGS $CROSS_HOST_DEV_PKGS &&
        dpkg --print-foreign-architectures | grep -qx mipsel; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        cross_log "packages missing; run as root (apt-get)"
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! dpkg --print-foreign-architectures | grep -qx mipsel; then
        cross_log "adding the mipsel architecture"
        dpkg --add-architecture mipsel
    fi
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $CROSS_HOST_PKGS $CROSS_HOST_DEV_PKGS \
        $CROSS_TARGET_PKGS >/dev/null
    # Safety net: the host udns development files must still be there.
    cross_installed libudns-dev || {
        cross_log "libudns-dev (host) vanished; reinstalling it"
        apt-get install -y -qq --no-install-recommends libudns-dev >/dev/null
    }
}

# cross_udns_root DIR: unpacks libudns-dev:mipsel into DIR (once) and points its libudns.so
# at the multiarch runtime library, so that shared and static links both work.
cross_udns_root() {
    _root=$1
    _lib="$_root/usr/lib/mipsel-linux-gnu"
    if [ ! -f "$_root/usr/include/udns.h" ] || [ ! -f "$_lib/libudns.a" ]; then
        _dl=$(mktemp -d /tmp/omrt-cross-dl-XXXXXX)
        # _apt downloads into the current directory: it must be able to write there.
        chmod 0777 "$_dl"
        (cd "$_dl" && apt-get download -qq libudns-dev:mipsel) || {
            rm -rf "$_dl"
            cross_log "cannot download libudns-dev:mipsel"
            return 1
        }
        mkdir -p "$_root"
        dpkg-deb -x "$_dl"/libudns-dev_*_mipsel.deb "$_root"
        rm -rf "$_dl"
    fi
    # The .deb's libudns.so -> libudns.so.0 dangles in this root; the runtime library is
    # the multiarch one of libudns0:mipsel.
    if [ -f /usr/lib/mipsel-linux-gnu/libudns.so.0 ]; then
        ln -sfn /usr/lib/mipsel-linux-gnu/libudns.so.0 "$_lib/libudns.so"
    fi
}

CROSS_BINFMT_DIR=/proc/sys/fs/binfmt_misc

# Registers qemu-mipsel with binfmt_misc unless it is already there. Returns 0 when it
# registered it (the caller unregisters), 1 otherwise (already there, or not possible:
# then script tests that exec mipsel files directly fail, and that is reported).
cross_binfmt_register() {
    _conf=/usr/lib/binfmt.d/qemu-mipsel.conf
    [ -f "$_conf" ] || { cross_log "no $_conf: binfmt not available"; return 1; }
    if [ ! -e "$CROSS_BINFMT_DIR/register" ]; then
        mount -t binfmt_misc binfmt_misc "$CROSS_BINFMT_DIR" 2>/dev/null || {
            cross_log "cannot mount binfmt_misc"
            return 1
        }
    fi
    [ -e "$CROSS_BINFMT_DIR/qemu-mipsel" ] && return 1
    grep -v '^[[:space:]]*#' "$_conf" | grep . | head -n 1 >"$CROSS_BINFMT_DIR/register" || {
        cross_log "cannot register qemu-mipsel with binfmt_misc"
        return 1
    }
    return 0
}

cross_binfmt_unregister() {
    [ -e "$CROSS_BINFMT_DIR/qemu-mipsel" ] && echo -1 >"$CROSS_BINFMT_DIR/qemu-mipsel"
    return 0
}

# shellcheck shell=bash
# Certificates of the lab's fake VPSes (sourced by tools/lab).
#
# lab_pki DIR: writes into DIR
#   ca.pem ca.key                     the lab test CA (P-256)
#   ca-{master,backup}[-alt].{pem,key} leaves signed by it, SANs = VPS name + both IPs
#   rogue.{pem,key}                   master's names, but self-issued (fails CA verification)
#   ss-{master,backup}[-alt].{pem,key} self-signed RSA-2048, CN=www.openmptcprouter.vps, like
#                                     a real VPS install (reference omr-tracker.md 5.6)
# and links {master,backup}[-alt].{pem,key} to the set chosen by $LAB_SELF_SIGNED (0|1).
# Only the self-signed set (RSA, slow-ish) is skipped when not needed.

lab_pki_leaf() { # DIR NAME DNS IP4 IP6
    local d=$1 n=$2 dns=$3 ip4=$4 ip6=$5
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/ca-$n.key" -out "$d/ca-$n.csr" -subj "/CN=$dns" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyAgreement" "extendedKeyUsage=serverAuth" \
        "subjectAltName=DNS:$dns,IP:$ip4,IP:$ip6" >"$d/ca-$n.ext"
    openssl x509 -req -in "$d/ca-$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 3650 -extfile "$d/ca-$n.ext" \
        -out "$d/ca-$n.pem" 2>/dev/null
    rm -f "$d/ca-$n.csr" "$d/ca-$n.ext"
}

lab_pki_selfsigned() { # DIR NAME
    openssl req -x509 -new -newkey rsa:2048 -days 3650 -nodes -subj "/CN=www.openmptcprouter.vps" \
        -keyout "$1/ss-$2.key" -out "$1/ss-$2.pem" 2>/dev/null
}

lab_pki() {
    local d=$1 n pids=() p
    mkdir -p "$d"
    chmod 755 "$d" # keys are 0600 (openssl), certificates world-readable for unprivileged clients
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.pem" -days 3650 -subj "/CN=omr-lab test CA ($LAB_NAME)" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        2>/dev/null
    if [ "$LAB_SELF_SIGNED" = 1 ]; then # RSA key generation is the slow part: in parallel
        for n in master backup master-alt backup-alt; do
            lab_pki_selfsigned "$d" "$n" &
            pids+=($!)
        done
    fi
    lab_pki_leaf "$d" master vps.lab.test "$LAB_VPS_MASTER4" "$LAB_VPS_MASTER6"
    lab_pki_leaf "$d" backup vps-backup.lab.test "$LAB_VPS_BACKUP4" "$LAB_VPS_BACKUP6"
    lab_pki_leaf "$d" master-alt vps.lab.test "$LAB_VPS_MASTER4" "$LAB_VPS_MASTER6"
    lab_pki_leaf "$d" backup-alt vps-backup.lab.test "$LAB_VPS_BACKUP4" "$LAB_VPS_BACKUP6"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/rogue.key" -out "$d/rogue.pem" -days 3650 -subj "/CN=vps.lab.test" \
        -addext "subjectAltName=DNS:vps.lab.test,DNS:vps-backup.lab.test,IP:$LAB_VPS_MASTER4,IP:$LAB_VPS_MASTER6,IP:$LAB_VPS_BACKUP4,IP:$LAB_VPS_BACKUP6" \
        2>/dev/null
    for p in "${pids[@]}"; do
        wait "$p"
    done
    local set=ca
    [ "$LAB_SELF_SIGNED" = 1 ] && set=ss
    for n in master backup master-alt backup-alt; do
        ln -sf "$set-$n.pem" "$d/$n.pem"
        ln -sf "$set-$n.key" "$d/$n.key"
    done
    [ -s "$d/master.pem" ] && [ -s "$d/backup.pem" ] && [ -s "$d/rogue.pem" ]
}

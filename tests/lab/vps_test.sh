#!/bin/bash
# The fake VPSes inside the lab and their faults: api MODE (every mode), cert, restart
# (tokens invalid), vps-unreachable; master and backup independent.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
lab_test_init vps

lab up >/dev/null || { bad "lab up"; exit 1; }
remember_pids
eval "$(lab env)"
PW=$(cat "$LAB_PASSWORD_FILE")
M=https://vps.lab.test:65500
B=https://vps-backup.lab.test:65500

code() { # curl args -> HTTP code (000 when none), curl's exit code in CURL_RC
    local out
    out=$(rx curl -s -o /dev/null -w '%{http_code}' --cacert "$LAB_CA" --max-time 2 "$@")
    CURL_RC=$?
    echo "$out"
}
curl_rc() { # curl args -> curl's exit code
    rx curl -s -o /dev/null --cacert "$LAB_CA" --max-time 2 "$@"
    echo $?
}
token() { # URL -> a fresh access token
    rx curl -s --cacert "$LAB_CA" --max-time 3 -d "username=openmptcprouter&password=$PW" "$1/token" |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}
fingerprint() { # HOST -> SHA-256 fingerprint of the certificate served on it
    rx sh -c "openssl s_client -connect $1:65500 -servername vps.lab.test </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256"
}
stat_of() { # master|backup FIELD -> a counter from the fake VPS's stats
    lab vpsctl "$1" stats | "${PYTHON:-/usr/bin/python3}" -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

# --- both VPSes answer, by name, v4 and v6, and verify with the lab CA -----------------------
check "master GET / 200 (v4)" test "$(code -4 $M/)" = 200
check "master GET / 200 (v6)" test "$(code -6 $M/)" = 200
check "backup GET / 200" test "$(code $B/)" = 200
check "master body is the welcome string" test "$(rx curl -s --cacert "$LAB_CA" $M/)" = '"Welcome to OpenMPTCProuter Server part"'
check "TLS 1.2 only: a TLS 1.3-only client fails" test "$(curl_rc --tlsv1.3 $M/)" != 0
T=$(token $M)
check "POST /token gives a token" test -n "$T"
check "GET /status with it: 200" test "$(code -H "Authorization: Bearer $T" $M/status)" = 200
check "GET /status without: 403" test "$(code $M/status)" = 403

# --- api modes ------------------------------------------------------------------------------
lab fault api master status500 >/dev/null
check "status500: GET / -> 500" test "$(code $M/)" = 500
check "status500: POST /token -> 500" test "$(code -d "username=openmptcprouter&password=$PW" $M/token)" = 500
check "status500 on master: backup still 200" test "$(code $B/)" = 200

lab fault api master badjson >/dev/null
check "badjson: 200" test "$(code $M/)" = 200
check "badjson: the body is not JSON" bash -c "! $LAB_TOOL exec curl -s --cacert $LAB_CA $M/clienthost | /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null"

lab fault api master oversize >/dev/null
SZ=$(rx curl -s -o /dev/null -w '%{size_download}' --cacert "$LAB_CA" --max-time 5 $M/)
check "oversize: a ${SZ}-byte body (>= 4 MB)" test "${SZ:-0}" -ge 4000000

lab fault api master refuse >/dev/null
code $M/ >/dev/null
check "refuse: curl exit 7 (connection refused), got $CURL_RC" test "$CURL_RC" = 7
check "refuse: over v6 too" test "$(curl_rc -6 $M/)" = 7

lab vpsctl master reset-stats >/dev/null
lab fault api master hang-accept >/dev/null
code $M/ >/dev/null
check "hang-accept: curl --max-time 2 times out (28), got $CURL_RC" test "$CURL_RC" = 28
check "hang-accept: the TCP connection was accepted" test "$(stat_of master connections)" -ge 1
check "hang-accept: no TLS handshake" test "$(stat_of master tls_handshakes)" = 0

lab fault api master hang-handshake >/dev/null
code $M/ >/dev/null
check "hang-handshake: times out (28), got $CURL_RC" test "$CURL_RC" = 28
check "hang-handshake: the fake VPS counted hung connections" test "$(stat_of master hung)" -ge 2

lab fault api master normal >/dev/null
check "normal: 200 again" test "$(code $M/)" = 200
check "normal: no api fault listed" bash -c "! $LAB_TOOL faults | grep -q '^api master'"

lab fault api backup refuse >/dev/null
check "api backup refuse: backup refused" test "$(curl_rc $B/)" = 7
check "api backup refuse: master fine" test "$(code $M/)" = 200
lab unfault api backup >/dev/null
check "unfault api backup: 200" test "$(code $B/)" = 200

# --- restart: every token becomes invalid ---------------------------------------------------
T=$(token $M)
check "token valid before restart" test "$(code -H "Authorization: Bearer $T" $M/status)" = 200
lab fault api master restart >/dev/null
BODY=$(rx curl -s -i --cacert "$LAB_CA" --max-time 2 -H "Authorization: Bearer $T" $M/status)
check "restart: old token -> 403" bash -c "echo '$BODY' | head -1 | grep -q ' 403'"
check "restart: Could not validate credentials + WWW-Authenticate: Bearer" bash -c "echo '$BODY' | grep -q 'Could not validate credentials' && echo '$BODY' | grep -qi '^www-authenticate: Bearer'"
T2=$(token $M)
check "restart: a new token works" test "$(code -H "Authorization: Bearer $T2" $M/status)" = 200

# --- cert: another certificate from now on ----------------------------------------------------
F0=$(fingerprint "$LAB_VPS_MASTER4")
lab fault api master cert alt >/dev/null
F1=$(fingerprint "$LAB_VPS_MASTER4")
check "cert alt: a different certificate is served" test -n "$F1" -a "$F0" != "$F1"
check "cert alt: still valid for the lab CA" test "$(code $M/)" = 200
lab fault api master cert rogue >/dev/null
check "cert rogue: curl with the lab CA refuses it (60)" test "$(curl_rc $M/)" = 60
check "cert rogue: curl -k still gets 200" test "$(code -k $M/)" = 200
lab unfault api master >/dev/null
check "unfault api: the original certificate again" test "$(fingerprint "$LAB_VPS_MASTER4")" = "$F0"

# --- vps-unreachable -----------------------------------------------------------------------
lab fault vps-unreachable master on
check_not "unreachable master: ping v4 fails" ping_ok "$LAB_VPS_MASTER4"
check_not "unreachable master: ping v6 fails" ping_ok -6 "$LAB_VPS_MASTER6"
check "unreachable master: API times out (28)" test "$(curl_rc $M/)" = 28
check "unreachable master: backup pings" ping_ok "$LAB_VPS_BACKUP4"
check "unreachable master: backup API 200 (v6)" test "$(code -6 $B/)" = 200
lab fault vps-unreachable backup on
check_not "unreachable backup too: ping fails" ping_ok "$LAB_VPS_BACKUP4"
lab fault vps-unreachable master off
check "master reachable again: ping" ping_ok "$LAB_VPS_MASTER4"
check "master reachable again: API 200" test "$(code $M/)" = 200
lab unfault all
check "unfault all: backup pings" ping_ok "$LAB_VPS_BACKUP4"
check "unfault all: nothing listed" test -z "$(lab faults)"

# --- self-signed mode, like a real VPS, in a second lab at the same time ------------------
S=$LAB_NAME-ss
lab_also "$S"
LAB_NAME=$S "$LAB_TOOL" up --self-signed >/dev/null || bad "second lab up"
remember_pids
check "two labs up at once" bash -c "$LAB_TOOL status >/dev/null && LAB_NAME=$S $LAB_TOOL status >/dev/null"
SUBJ=$(LAB_NAME=$S "$LAB_TOOL" exec sh -c "openssl s_client -connect $LAB_VPS_MASTER4:65500 </dev/null 2>/dev/null | openssl x509 -noout -subject -text")
check "self-signed: CN=www.openmptcprouter.vps" bash -c "echo '$SUBJ' | grep -q 'subject=CN = www.openmptcprouter.vps'"
check "self-signed: RSA 2048" bash -c "echo '$SUBJ' | grep -q 'Public-Key: (2048 bit)'"
CIPH=$(LAB_NAME=$S "$LAB_TOOL" exec sh -c "openssl s_client -connect $LAB_VPS_MASTER4:65500 </dev/null 2>/dev/null | grep 'Cipher is'")
check "self-signed: ECDHE-RSA-AES*-SHA like a real VPS ($CIPH)" bash -c "echo '$CIPH' | grep -Eq 'ECDHE-RSA-AES(128|256)-SHA$'"
check "self-signed: curl -k works" test "$(LAB_NAME=$S "$LAB_TOOL" exec curl -sk -o /dev/null -w '%{http_code}' $M/)" = 200
check "self-signed: verification with the lab CA fails" bash -c "! LAB_NAME=$S $LAB_TOOL exec curl -s -o /dev/null --cacert /run/omr-lab/$S/pki/ca.pem $M/"

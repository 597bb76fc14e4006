#!/usr/bin/env bash
# Makes a private CA and certificates for Herald's RPC ports, for development, compose and tests (use
# your own PKI in production).
#   scripts/tls-certs.sh DIR [NAME...]
# DIR/ca.pem and ca-key.pem are made once and reused; every run makes a fresh server.pem/server-key.pem
# valid for localhost, 127.0.0.1, ::1, the compose service names and each NAME (a host name or an IP
# address), and client.pem/client-key.pem for client-certificate auth. Private keys are mode 600.
set -euo pipefail
dir="${1:?usage: $0 DIR [NAME...]}"
shift
mkdir -p "$dir"
cd "$dir"
umask 077

sans="DNS:localhost,IP:127.0.0.1,IP:::1,DNS:ingest,DNS:routing,DNS:delivery,DNS:audit"
for name in "$@"; do
  if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then sans+=",IP:$name"; else sans+=",DNS:$name"; fi
done

if [[ ! -f ca.pem || ! -f ca-key.pem ]]; then
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 3650 \
    -keyout ca-key.pem -out ca.pem -subj "/CN=Herald development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

# issue NAME CN EXTENSIONS: NAME.pem and NAME-key.pem signed by the CA.
issue() {
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$1-key.pem" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -set_serial "0x$(openssl rand -hex 16)" \
    -days 825 -out "$1.pem" -extfile <(printf '%s\n' "$3") 2>/dev/null
  rm -f "$1.csr"
}
issue server "herald" "subjectAltName=$sans
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature"
issue client "herald-client" "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
chmod 644 ca.pem server.pem client.pem
echo "tls-certs.sh: CA, server and client certificates in $PWD" >&2

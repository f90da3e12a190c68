#!/bin/sh
# A throwaway CA for the test bed, and server certificates for loopback addresses (see README.md).
#   make-ca.sh DIR                   create DIR/ca.pem and DIR/ca.key unless they exist
#   make-ca.sh DIR issue NAME IP     issue DIR/NAME.pem and DIR/NAME.key for IP (and DNS:localhost)
set -eu
dir=$1
mkdir -p "$dir"
if [ ! -f "$dir/ca.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=groupbridge test CA" \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	chmod 600 "$dir/ca.key"
fi
[ "${2:-}" = issue ] || exit 0
name=$3
ip=$4
ext=$(mktemp)
printf 'subjectAltName=IP:%s,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' "$ip" >"$ext"
openssl req -newkey rsa:2048 -nodes -subj "/CN=$ip" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
	-extfile "$ext" -out "$dir/$name.pem" 2>/dev/null
chmod 600 "$dir/$name.key"
rm -f "$ext" "$dir/$name.csr"

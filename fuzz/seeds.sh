#!/usr/bin/env bash
# Writes the seed corpora fuzz/corpus/<target>/ from the repository's fixtures (and the
# shared fixtures beside the repository, when present) plus a few hand-written inputs.
# Safe to rerun: it only adds files (named by content hash) and never removes what the
# fuzzer found.
#
#   fuzz/seeds.sh            # then: cd fuzz && cargo fuzz run <target> corpus/<target>
set -euo pipefail

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$fuzz_dir")
corpus="$fuzz_dir/corpus"
# Same captures as tests/fixtures, kept beside the repository as shared/fixtures.
shared=${SHARED_FIXTURES:-$(dirname "$repo")/shared/fixtures}
fixtures=("$repo/tests/fixtures")
[ -d "$shared" ] && fixtures+=("$shared")

# add TARGET FILE: copies FILE into corpus/TARGET under its content hash.
add() {
    mkdir -p "$corpus/$1"
    cp "$2" "$corpus/$1/seed-$(sha1sum <"$2" | cut -c1-16)"
}
# add_text TARGET TEXT: writes TEXT as a seed, with printf %b's escapes expanded (\r, \n,
# \0ooo for a byte in octal); % is literal.
add_text() {
    local tmp
    tmp=$(mktemp)
    printf '%b' "$2" >"$tmp"
    add "$1" "$tmp"
    rm -f "$tmp"
}
# add_body TARGET FILE: the body of a captured HTTP request (everything after the blank line).
add_body() {
    local tmp
    tmp=$(mktemp)
    python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); i=d.find(b"\r\n\r\n"); sys.stdout.buffer.write(d[i+4:] if i >= 0 else d)' "$2" >"$tmp"
    add "$1" "$tmp"
    rm -f "$tmp"
}

for dir in "${fixtures[@]}"; do
    # http_head: whole captured requests (head and body), SOAP and OPS alike.
    for f in "$dir"/opensrs/*.request.http "$dir"/virtuoso/*.req; do
        [ -f "$f" ] || continue
        add http_head "$f"
    done
    # soap: the bodies of the Virtuoso captures and zeep's requests.
    for f in "$dir"/virtuoso/*.req; do
        [ -f "$f" ] || continue
        add_body soap "$f"
    done
    for f in "$dir"/soap/*.xml; do
        [ -f "$f" ] || continue
        add soap "$f"
    done
    # ops: captured request bodies and the canned reply (a valid envelope too).
    for f in "$dir"/opensrs/*.body.xml "$dir"/opensrs/canned-reply.xml; do
        [ -f "$f" ] || continue
        add ops "$f"
    done
done

# http_head: chunked bodies, an empty target, HTTP/1.0, pipelining, Expect.
add_text http_head 'POST /RPC2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.1\r\n\r\n'
add_text http_head 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'
add_text http_head 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n'
add_text http_head 'POST  HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc'
add_text http_head 'GET /reset/abc?x=1 HTTP/1.0\r\n\r\n'
add_text http_head 'POST /reset/t HTTP/1.1\r\nContent-Length: 10\r\nContent-Length: 10\r\nConnection: close\r\n\r\ncsrf=a&p=b'
add_text http_head 'GET http://example.com/healthz HTTP/1.1\r\nHost: example.com\r\n\r\n'
add_text http_head '3\r\nabc\r\n0\r\n\r\n'
# Regression: a chunk size near u64::MAX after a first chunk overflowed out.len() + size
# (fixed in 8e8f43d; crashes/http_head/chunk-size-overflow.bin is the minimised form).
add_text http_head 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\nffffffffffffffff\r\n'

# xmlrpc: no captured XML-RPC requests exist; these cover every type, Latin-1, the Apache
# extensions, untyped values and comments.
xr_head() { printf '%s' "<?xml version=\"1.0\"?>\n<methodCall><methodName>xmlStorageSystem.$1</methodName><params>"; }
xr_tail='</params></methodCall>\n'
add_text xmlrpc "$(xr_head ping)"'<param><value>a@example.com</value></param><param><value><string>5ebe2294ecd0e0f08eab7690d2a6ee69</string></value></param><param><value><int>0</int></value></param><param><value><i4>5335</i4></value></param><param><value>/RPC2</value></param><param><value>xml-rpc</value></param>'"$xr_tail"
add_text xmlrpc "$(xr_head saveMultipleFiles)"'<param><value><string>a@example.com</string></value></param><param><value><string>x</string></value></param><param><value><array><data><value>/index.html</value><value><string>/b &amp; c.txt</string></value></data></array></value></param><param><value><array><data><value><base64>SGVs\n bG8=</base64></value><value>&lt;p&gt;&#233;&#x263A;<![CDATA[<raw>]]></value></data></array></value></param>'"$xr_tail"
add_text xmlrpc "$(xr_head registerUser)"'<param><value><struct><member><name>email</name><value>a@b</value></member><member><name>n</name><value><i8>5000000000</i8></value></member><member><name>d</name><value><double>-1.5e3</double></value></member><member><name>b</name><value><boolean>true</boolean></value></member><member><name>t</name><value><dateTime.iso8601>20020326T12:00:00</dateTime.iso8601></value></member><member><name>z</name><value><dateTime.iso8601>2019-03-04T07:06:07+02:00</dateTime.iso8601></value></member></struct></value></param><param><value><nil/></value></param><param><value><ex:nil xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"/></value></param>'"$xr_tail"
add_text xmlrpc '<?xml version="1.0" encoding="ISO-8859-1"?><methodCall><methodName>m</methodName><params><param><value><string>\0351t\0351</string></value></param></params></methodCall>'
add_text xmlrpc '<methodCall>\n  <methodName> xmlStorageSystem.getServerCapabilities\n</methodName>\n  <params>\n    <param><value><!-- user --></value></param>\n    <param><value><array/></value></param>\n    <param><value><struct/></value></param>\n  </params>\n</methodCall>'
add_text xmlrpc '\0357\0273\0277<?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>xmlStorageSystem.mailPasswordToUser</methodName><params><param><value>a@example.com</value></param></params></methodCall>'

# reset_form: the form the reset page posts, and its edge cases.
add_text reset_form 'csrf=0123456789abcdef&password=correct+horse&password2=correct+horse'
add_text reset_form 'password=%C3%A9t%C3%A9%21&password2=%C3%A9t%C3%A9%21&csrf=x&submit=Set+password'
add_text reset_form 'csrf=&password=&password2=&&x'
add_text reset_form 'csrf=a&csrf=b'
add_text reset_form 'password=%zz'
add_text reset_form 'p%61ssword=a%2B%26%3D&password2=a%2b%26%3d'

for t in http_head xmlrpc soap ops reset_form; do
    printf '%-11s %5d files\n' "$t" "$(ls "$corpus/$t" | wc -l)"
done

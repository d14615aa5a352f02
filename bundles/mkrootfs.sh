#!/bin/sh
# mkrootfs.sh DEST — build a minimal busybox root filesystem at DEST.
#
# The rootfs comes from Debian's busybox-static (/bin/busybox): one static
# binary in /bin plus a symlink per applet, /sbin /usr/bin /usr/sbin as
# symlinks to /bin, a small /etc (passwd, group, hostname, hosts, resolv.conf)
# and the empty directories a runtime mounts onto (/proc /sys /dev /tmp ...).
#
# Idempotent: when DEST/bin/busybox is identical to the host's busybox and the
# stamp matches this script's layout version, nothing is done. Otherwise the
# tree is (re)written in place; nothing outside DEST is touched.
#
# Env: BUSYBOX=/path/to/static/busybox overrides /bin/busybox.
set -eu

LAYOUT_VERSION=1

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DEST" >&2
    exit 2
fi
DEST=$1
BUSYBOX=${BUSYBOX:-/bin/busybox}

if [ ! -x "$BUSYBOX" ]; then
    echo "mkrootfs: $BUSYBOX not found; install it with: apt-get install busybox-static" >&2
    exit 1
fi
# The container has no libc: refuse a dynamically linked busybox (Debian's
# plain `busybox` package) instead of producing a rootfs that cannot exec.
if ! LC_ALL=C ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic executable'; then
    echo "mkrootfs: $BUSYBOX is dynamically linked; install busybox-static" >&2
    exit 1
fi

STAMP="$DEST/.berth-rootfs"
if [ -f "$DEST/bin/busybox" ] && [ -f "$STAMP" ] \
    && [ "$(cat "$STAMP")" = "layout=$LAYOUT_VERSION" ] \
    && cmp -s "$BUSYBOX" "$DEST/bin/busybox"; then
    exit 0   # already current
fi

echo "mkrootfs: building busybox rootfs at $DEST" >&2

mkdir -p "$DEST"
cd "$DEST"

mkdir -p bin etc proc sys dev tmp root home/berth run var/tmp usr mnt
chmod 0755 . bin etc proc sys dev run usr mnt home
chmod 1777 tmp var/tmp
chmod 0700 root
chown 1000:1000 home/berth
chmod 0755 home/berth

# busybox itself: copy to a temp name and rename, so a running container that
# has it open never sees a half-written file.
cp "$BUSYBOX" bin/.busybox.new
chmod 0755 bin/.busybox.new
mv -f bin/.busybox.new bin/busybox

# One symlink per applet in /bin ("[" and "[[" included).
for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] && continue
    ln -sfn busybox "bin/$applet"
done

# The usual other bin directories all resolve to /bin.
for link in sbin usr/bin usr/sbin; do
    if [ -d "$link" ] && [ ! -L "$link" ]; then
        rm -rf "$link"
    fi
done
ln -sfn bin sbin
ln -sfn ../bin usr/bin
ln -sfn ../bin usr/sbin

cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
berth:x:1000:1000:berth:/home/berth:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD

cat > etc/group <<'GROUP'
root:x:0:
tty:x:5:
berth:x:1000:
nogroup:x:65534:
GROUP

echo berth > etc/hostname
cat > etc/hosts <<'HOSTS'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
HOSTS
: > etc/resolv.conf
ln -sfn /proc/mounts etc/mtab
chmod 0644 etc/passwd etc/group etc/hostname etc/hosts etc/resolv.conf

echo "layout=$LAYOUT_VERSION" > .berth-rootfs

# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034,SC2154 # variables for and from the sourcing script
# Sourced, after lib_guest.sh, by the tests that run the patched libvirt in
# the test host: its build tree, what the example domains of
# configs/examples/ expect on the host, and virtqemud daemons started
# from the build tree. The sourcing script sets $run and $name (the
# domain), and calls libvirt_cleanup on exit.

build=$top/build/libvirt-build
# Where the example domains expect the emulator, kernel, initramfs, disk.
images=/var/lib/libvirt/images/unmapped
emulator=/usr/local/bin/qemu-system-x86_64
# The daemon virsh talks to: the first one's, unless a test switches.
libvirt_uri=qemu:///system
daemon_pids=() console_pid=""
require "$build/run" "$build/src/virtqemud" "$build/tools/virsh" \
	"$qemu" "$kernel" "$initrd" /dev/kvm "$scan/canary"

virsh() { "$build/run" "$build/tools/virsh" -q -c "$libvirt_uri" "$@"; }

# libvirt_host: the example domains' files in place. The test host has no
# QEMU user, cgroups, security driver or mount namespace set up for
# libvirt: QEMU runs as root without them, and writes its log itself (no
# virtlogd). The daemon still wants the user it was built for (Debian's)
# to exist.
libvirt_host() {
	getent passwd libvirt-qemu > /dev/null || useradd -r -M -s /usr/sbin/nologin libvirt-qemu
	mkdir -p "$images"
	# A copy: away from its build tree, QEMU finds Debian's firmware itself.
	install -m 755 "$qemu" "$emulator"
	ln -sf "$kernel" "$images/bzImage"
	ln -sf "$initrd" "$images/initramfs.cpio.gz"
	printf unmapped-disk-v1 > "$images/disk.img"
	truncate -s 8M "$images/disk.img"
}

# libvirt's directories, each with the name it has under a ROOT below.
libvirt_dirs=(etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt/qemu
	      log:/var/log/libvirt cache:/var/cache/libvirt)

# start_virtqemud HOST_UUID [ROOT]: a virtqemud from the build tree. With
# ROOT, one standing in for a second host: its configuration, state, logs
# and socket live under ROOT, bind-mounted over libvirt's directories in a
# mount namespace of its own; virsh reaches it at $ROOT/run's socket. Each
# has its own host UUID, by which libvirt tells hosts apart.
start_virtqemud() {
	local etc=/etc/libvirt sock=/run/libvirt/virtqemud-sock log=$run/virtqemud.log d
	local daemon=("$build/run" "$build/src/virtqemud")
	if [ -n "${2:-}" ]; then
		etc=$2/etc sock=$2/run/virtqemud-sock log=$run/virtqemud-${2##*/}.log
		for d in "${libvirt_dirs[@]}"; do mkdir -p "${d#*:}" "$2/${d%%:*}"; done
		# shellcheck disable=SC2016 # expanded by the inner shell
		daemon=(unshare -m --propagation private bash -c '
			root=$1 dirs=$2; shift 2
			for d in $dirs; do
				mount --bind "$root/${d%%:*}" "${d#*:}" || exit 1
			done
			exec "$@"' - "$2" "${libvirt_dirs[*]}" "${daemon[@]}" --pid-file "$2/run/virtqemud.pid")
	fi
	mkdir -p "$etc"
	cat > "$etc/qemu.conf" <<-EOF
		user = "root"
		group = "root"
		security_driver = "none"
		namespaces = []
		cgroup_controllers = []
		stdio_handler = "file"
	EOF
	echo "host_uuid = \"$1\"" > "$etc/virtqemud.conf"
	"${daemon[@]}" > "$log" 2>&1 &
	daemon_pids+=($!)
	for _ in $(seq 300); do
		[ -S "$sock" ] && return
		sleep 0.1
	done
	fail "virtqemud did not start: $(tail -n 5 "$log")"
}

# Follow the guest's console, a pty that each QEMU of the domain opens anew.
attach_console() {
	[ -z "$console_pid" ] || kill "$console_pid" 2>/dev/null || true
	pty=$(virsh ttyconsole "$name")
	stty -F "$pty" raw -echo
	cat "$pty" >> "$run/console" 2> /dev/null &
	console_pid=$!
}

libvirt_cleanup() {
	[ -z "$console_pid" ] || kill "$console_pid" 2>/dev/null || true
	[ ${#daemon_pids[@]} -eq 0 ] || kill "${daemon_pids[@]}" 2>/dev/null || true
	rm -rf "$run"
}

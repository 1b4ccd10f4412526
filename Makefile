# Guest memory outside the host direct map: every build, test, demo and
# benchmark is one target here. See README.md.

BUILD := $(CURDIR)/build
KSRC := $(BUILD)/linux
KOUT := $(BUILD)/kbuild
KOUT_DEBUG := $(BUILD)/kbuild-debug
KHDR := $(BUILD)/headers
KSELFTEST := $(BUILD)/selftests
LOGS := $(BUILD)/logs
CACHE ?= $(HOME)/.cache/unmapped
JOBS ?= $(shell echo $$(($$(nproc) + 1)))
BZIMAGE := $(KOUT)/arch/x86/boot/bzImage
GUEST_INITRD := $(BUILD)/guest/initramfs.cpio.gz
CONFIG_FRAGMENTS := $(KSRC)/arch/x86/configs/x86_64_defconfig \
	$(KSRC)/kernel/configs/kvm_guest.config $(CURDIR)/configs/host.config

export CCACHE_DIR ?= $(CACHE)/ccache
export CCACHE_BASEDIR := $(CURDIR)
# Hash the compiler's dependency output instead of running the preprocessor twice.
export CCACHE_DEPEND := 1
export KBUILD_BUILD_TIMESTAMP := 2026-01-01
export KBUILD_BUILD_USER := unmapped
export KBUILD_BUILD_HOST := unmapped
kmake = $(MAKE) -s -C $(KSRC) O=$(1) CC="ccache gcc" -j$(JOBS)
KMAKE := $(call kmake,$(KOUT))
STAGE := scripts/stage.sh

# A recipe that fails leaves no half-made target (e.g. a .config that
# failed its check) to look up to date next time.
.DELETE_ON_ERROR:

.PHONY: all deps kernel-tree qemu-tree libvirt-tree patches-export kernel \
	kernel-config kernel-debug selftests qemu libvirt guest test test-debug \
	build-check demo bench lint clean

all: kernel selftests qemu libvirt guest

deps:
	@bash scripts/deps.sh

kernel-tree: deps
	@bash scripts/src-tree.sh linux apply

qemu-tree: deps
	@bash scripts/src-tree.sh qemu apply

libvirt-tree: deps
	@bash scripts/src-tree.sh libvirt apply

# Writes back every tree that exists under build/.
patches-export:
	@bash scripts/src-tree.sh linux export
	@for t in qemu libvirt; do \
		if [ -d $(BUILD)/$$t ]; then bash scripts/src-tree.sh $$t export || exit 1; fi; \
	done

# kconfig OUTPUT-DIR PROJECT-FRAGMENTS: merge them onto the upstream ones.
define kconfig
	@mkdir -p $(1)
	@cd $(KSRC) && ./scripts/kconfig/merge_config.sh -m -O $(1) $(CONFIG_FRAGMENTS) $(addprefix $(CURDIR)/,$(2)) >/dev/null
	@$(call kmake,$(1)) olddefconfig
	@bash scripts/check-config.sh $(1)/.config configs/host.config $(2)
endef

$(KOUT)/.config: configs/host.config | kernel-tree
	$(call kconfig,$(KOUT))

# The test host of 'make test-debug': KASAN, lockdep, kmemleak and more.
$(KOUT_DEBUG)/.config: configs/host.config configs/debug.config | kernel-tree
	$(call kconfig,$(KOUT_DEBUG),configs/debug.config)

kernel-config: kernel-tree $(KOUT)/.config

kernel: kernel-config
	@$(STAGE) kernel $(KMAKE) bzImage
	@bash scripts/check-config.sh $(KOUT)/.config configs/host.config

kernel-debug: kernel-tree $(KOUT_DEBUG)/.config
	@$(STAGE) kernel-debug $(call kmake,$(KOUT_DEBUG)) bzImage
	@bash scripts/check-config.sh $(KOUT_DEBUG)/.config configs/host.config configs/debug.config

qemu: qemu-tree
	@$(STAGE) qemu bash scripts/qemu-build.sh

libvirt: libvirt-tree
	@$(STAGE) libvirt bash scripts/libvirt-build.sh

# The nested test guest's initramfs; its kernel is the host's bzImage.
guest: $(GUEST_INITRD)

$(GUEST_INITRD): scripts/guest-initramfs.sh selftests/guest/init selftests/guest/fill_canary.c | deps
	@bash scripts/guest-initramfs.sh $@

clean:
	rm -rf $(BUILD)

$(KHDR)/include/linux/kvm.h: $(KOUT)/.config $(wildcard $(KSRC)/include/uapi/linux/*.h)
	@$(KMAKE) headers_install INSTALL_HDR_PATH=$(KHDR) >/dev/null

# No ccache here: with CCACHE_BASEDIR it writes relative targets into the
# .d files, which then never match the OUTPUT objects, so a changed header
# of the selftest library would not rebuild the tests that include it.
selftests: kernel-config $(KHDR)/include/linux/kvm.h
	@$(STAGE) selftests $(MAKE) -C $(KSRC)/tools/testing/selftests/kvm \
		-f $(CURDIR)/selftests/kvm/Makefile -j$(JOBS) \
		OUTPUT=$(KSELFTEST)/kvm PROJECT_TESTS_DIR=$(CURDIR)/selftests/kvm \
		LINUX_HDR_PATH=$(KHDR)/include/ KHDR_INCLUDES="-isystem $(KHDR)/include"

test: kernel selftests qemu libvirt guest
	@bash scripts/test.sh

# The same tests on the debug kernel, and a boot with debug_pagealloc=on;
# the nested guests of the QEMU and libvirt tests boot the plain kernel.
test-debug: kernel kernel-debug selftests qemu libvirt guest
	@TEST_DEBUG=1 BZIMAGE=$(KOUT_DEBUG)/arch/x86/boot/bzImage bash scripts/test.sh

# KVM, mm and hibernation of the patched tree built for hosts the test host
# is not, one per configs/build-check-NAME.config: 32-bit x86 (no
# guest_memfd, no __GFP_UNMAPPED) and x86-64 with AMD SEV ('make test' runs
# them all).
BUILD_CHECKS := $(patsubst configs/build-check-%.config,%,$(wildcard configs/build-check-*.config))
build-check: kernel-tree
	@for c in $(BUILD_CHECKS); do \
		$(STAGE) build-check:$$c bash scripts/build-check.sh $$c || exit 1; \
	done

demo: kernel selftests qemu guest
	@bash scripts/demo.sh

bench: kernel selftests qemu guest
	@bash scripts/bench.sh

# Style gates: shellcheck on the harness, checkpatch --strict on every patch
# (with Debian's python3, which has the ply module spdxcheck.py needs), and
# the kernel built inside the series as well as at its end (SERIES_BUILD=all:
# at every patch).
lint: kernel qemu-tree
	@shellcheck scripts/*.sh scripts/vm-init selftests/kvm/*.sh selftests/guest/init .ci/run
	@for p in $(filter-out %/0000-cover-letter.patch,$(wildcard host-kernel/*.patch virt/*.patch)); do \
		(cd $(KSRC) && PATH=/usr/bin:$$PATH ./scripts/checkpatch.pl --strict --quiet $(CURDIR)/$$p) || exit 1; \
	done
	@# QEMU's checkpatch warns on any linux-headers/ change not made by
	@# update-linux-headers.sh; 0002 says why it adds four lines by hand.
	@for p in $(filter-out %/0000-cover-letter.patch,$(wildcard vmm-hooks/qemu/*.patch)); do \
		case $$p in */0002-linux-headers-*) continue ;; esac; \
		(cd $(BUILD)/qemu && PATH=/usr/bin:$$PATH ./scripts/checkpatch.pl --quiet $(CURDIR)/$$p) || exit 1; \
	done
	@$(STAGE) series-build bash scripts/series-build.sh

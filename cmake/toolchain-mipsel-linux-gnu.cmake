# Cross build for little-endian MIPS with Debian's cross compiler and multiarch libraries
# (environment.md §2). Used by tools/cross-build and tools/size-report:
#
#   cmake -S . -B build-mipsel -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mipsel-linux-gnu.cmake
#
# What it needs (tools/cross-build installs it): g++-mipsel-linux-gnu, qemu-user, the
# `:mipsel` -dev packages of libev, libmnl, mbedTLS, gtest, cmocka, and libstdc++6:mipsel. libudns-dev is not
# Multi-Arch (its :mipsel and :amd64 packages conflict), so its mipsel .deb is unpacked
# into a private root named by CROSS_EXTRA_ROOT (environment variable or -D), which is
# searched before the multiarch directories.
#
# The binaries are glibc, hard-float, mips32r2: for build checks and tests under
# qemu-mipsel only. Routers (musl, soft-float 24kc) are built by the OpenWrt SDK with
# openwrt/Makefile, which does not use this file.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR mipsel)
set(OMRT_CROSS_TRIPLET mipsel-linux-gnu)

set(CMAKE_C_COMPILER ${OMRT_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${OMRT_CROSS_TRIPLET}-g++)
# 64-bit off_t/ino_t as musl always has. Without it, 32-bit glibc's readdir()/stat() fail
# with EOVERFLOW under qemu-user on a 64-bit host (directory offsets and inode numbers do
# not fit 32 bits there): the hook runner would see an empty hook directory. time_t stays
# 32-bit: the :mipsel libraries were built that way.
set(CMAKE_C_FLAGS_INIT "-D_FILE_OFFSET_BITS=64")
set(CMAKE_CXX_FLAGS_INIT "-D_FILE_OFFSET_BITS=64")

# OMRT_OPENWRT_FLAGS=ON compiles the way OpenWrt compiles an ordinary package for a MIPS
# router, instead of Debian's defaults (PIE, MIPS32 code):
#  - no PIE: OpenWrt's default "User space ASLR PIE compilation: Regular" builds PIE only
#    for the packages that set PKG_ASLR_PIE_REGULAR:=1 (config/Config-build.in,
#    include/hardening.mk); openwrt/Makefile does not set it;
#  - MIPS16e (-mips16 -minterlink-mips16): OpenWrt's packages are built so on targets
#    with the mips16 feature (24Kc: ath79, ramips mt76x8...) unless they opt out with
#    PKG_BUILD_FLAGS:=no-mips16;
#  - PLT calls for non-PIC code (-mplt): OpenWrt configures its gcc --with-mips-plt for
#    mips and mipsel (toolchain/gcc/common.mk), which makes them its default.
# For tools/size-report only: such binaries are measured, not run. Debian's libraries are
# hard-float (OpenWrt's MIPS targets are soft-float), and MIPS16e code reaches
# hard-float functions only through stubs gcc adds per call: ld's --gc-sections drops the
# .mips16.call.fp.* ones (strtod then returns garbage), and with them kept by a linker
# script, omr-trackerctl still read `--timeout 5` as 1.8e-307 under qemu. Soft-float
# code needs no such stubs.
set(OMRT_OPENWRT_FLAGS OFF CACHE BOOL
    "Compile like OpenWrt's package builds: no PIE, MIPS16e, PLT")
if(OMRT_OPENWRT_FLAGS)
    string(APPEND CMAKE_C_FLAGS_INIT " -mips16 -minterlink-mips16 -fno-pie -mplt")
    string(APPEND CMAKE_CXX_FLAGS_INIT " -mips16 -minterlink-mips16 -fno-pie -mplt")
    set(CMAKE_EXE_LINKER_FLAGS_INIT "-no-pie")
endif()
# Debian's multiarch layout: /usr/lib/mipsel-linux-gnu, /usr/include/mipsel-linux-gnu.
set(CMAKE_LIBRARY_ARCHITECTURE ${OMRT_CROSS_TRIPLET})

if(NOT CROSS_EXTRA_ROOT AND DEFINED ENV{CROSS_EXTRA_ROOT})
    set(CROSS_EXTRA_ROOT "$ENV{CROSS_EXTRA_ROOT}")
endif()
set(CROSS_EXTRA_ROOT "${CROSS_EXTRA_ROOT}" CACHE PATH
    "Extra target root searched first (the unpacked libudns-dev:mipsel)")
# try_compile projects re-read this file; pass the root on to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES CROSS_EXTRA_ROOT OMRT_OPENWRT_FLAGS)

# Headers and libraries only from the target roots; programs from the host.
set(CMAKE_FIND_ROOT_PATH ${CROSS_EXTRA_ROOT} /usr/${OMRT_CROSS_TRIPLET} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must answer with the target's .pc files, never the host's (cmocka, libmnl).
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${OMRT_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Test binaries run through qemu-user: gtest_discover_tests (PRE_TEST) lists the cases with
# it, and CTest prefixes every add_test() command that names a target with it.
# No `-L /usr/mipsel-linux-gnu` (environment.md's recipe): with it, qemu loads that
# directory's ld.so.1 (libc6-mipsel-cross) but libc.so.6 from the multiarch
# /lib/mipsel-linux-gnu (libc6:mipsel, another build); the mismatched pair crashes every
# forked child (SIGSEGV right after fork()). Without -L, the loader, libc and libstdc++
# all come from the multiarch packages (libc6:mipsel, libstdc++6:mipsel).
find_program(OMRT_QEMU_MIPSEL qemu-mipsel)
if(OMRT_QEMU_MIPSEL)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${OMRT_QEMU_MIPSEL})
endif()

# Dependency discovery that works in three layouts:
#   - a Debian host (libev, udns and mbedTLS 2.28 ship no .pc and no CMake config);
#   - a Debian multiarch cross build (toolchain file sets CMAKE_LIBRARY_ARCHITECTURE);
#   - an OpenWrt staging dir (CMake.mk sets CMAKE_FIND_ROOT_PATH; no .pc for libev/udns).
# So everything goes through find_path/find_library, which honours all three.
# Each dependency becomes an IMPORTED INTERFACE target: omrt::ev, omrt::mnl, ...

include_guard(GLOBAL)

# Static variants are preferred when OMRT_STATIC_DEPS is on (size table in CI).
option(OMRT_STATIC_DEPS "Link libev/libmnl/udns/mbedTLS statically where .a files exist" OFF)

function(omrt_find_dep target header)
    cmake_parse_arguments(D "" "" "NAMES" ${ARGN})
    string(MAKE_C_IDENTIFIER "${target}" id)
    find_path(${id}_INCLUDE_DIR NAMES ${header})
    set(libs)
    foreach(n IN LISTS D_NAMES)
        if(OMRT_STATIC_DEPS)
            find_library(${id}_${n}_LIBRARY NAMES lib${n}.a ${n})
        else()
            find_library(${id}_${n}_LIBRARY NAMES ${n})
        endif()
        if(NOT ${id}_${n}_LIBRARY)
            message(FATAL_ERROR "omr-trackerd needs lib${n} (${header}); "
                    "on Debian run tools/install-deps, on OpenWrt add the package dependency")
        endif()
        list(APPEND libs ${${id}_${n}_LIBRARY})
    endforeach()
    if(NOT ${id}_INCLUDE_DIR)
        message(FATAL_ERROR "omr-trackerd needs the header ${header}; run tools/install-deps")
    endif()
    add_library(omrt::${target} INTERFACE IMPORTED GLOBAL)
    set_target_properties(omrt::${target} PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES "${${id}_INCLUDE_DIR}"
        INTERFACE_LINK_LIBRARIES "${libs}")
    message(STATUS "omrt::${target}: ${libs}")
endfunction()

omrt_find_dep(ev ev.h NAMES ev)
omrt_find_dep(mnl libmnl/libmnl.h NAMES mnl)
omrt_find_dep(udns udns.h NAMES udns)
# Order matters for static linking: tls needs x509 needs crypto.
omrt_find_dep(mbedtls mbedtls/ssl.h NAMES mbedtls mbedx509 mbedcrypto)

# mbedTLS version, for the record only; code paths are chosen in C++ by MBEDTLS_VERSION_NUMBER.
file(STRINGS "${mbedtls_INCLUDE_DIR}/mbedtls/version.h" _omrt_mbedtls_v
     REGEX "define MBEDTLS_VERSION_STRING ")
message(STATUS "mbedTLS: ${_omrt_mbedtls_v}")

if(BUILD_TESTING)
    find_package(GTest CONFIG QUIET)
    if(NOT GTest_FOUND)
        # Debian ships the sources; OpenWrt hosts or cross roots may only have those.
        if(EXISTS /usr/src/googletest/CMakeLists.txt)
            set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
            set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
            add_subdirectory(/usr/src/googletest ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
            add_library(GTest::gtest ALIAS gtest)
            add_library(GTest::gtest_main ALIAS gtest_main)
        else()
            message(FATAL_ERROR "GoogleTest not found; run tools/install-deps")
        endif()
    endif()
    find_path(cmocka_INCLUDE_DIR NAMES cmocka.h)
    find_library(cmocka_LIBRARY NAMES cmocka)
    if(NOT cmocka_INCLUDE_DIR OR NOT cmocka_LIBRARY)
        message(FATAL_ERROR "cmocka not found; run tools/install-deps")
    endif()
    add_library(omrt::cmocka INTERFACE IMPORTED GLOBAL)
    set_target_properties(omrt::cmocka PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES "${cmocka_INCLUDE_DIR}"
        INTERFACE_LINK_LIBRARIES "${cmocka_LIBRARY}")
endif()

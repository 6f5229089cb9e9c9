# uthash_version.cmake - the configure-time uthash version check, end to end.
#
#   cmake -DSOURCE_DIR=<weakcache source> -DWORK_DIR=<scratch dir>
#         -DUTHASH_H=<a real uthash.h> -DCASE=<case> [-DGENERATOR=...]
#         [-DC_COMPILER=...] -P uthash_version.cmake
#
# Writes WORK_DIR/<case>/include/uthash.h - the real header with its
# UTHASH_VERSION line replaced - configures weakcache against it with
# -DUTHASH_INCLUDE_DIR and checks the outcome:
#   CASE=2.3.0     configure succeeds and reports "uthash 2.3.0", and the
#                  library builds (cache.c checks the numbers again);
#   CASE=9.9.9     configure fails with the "verified against uthash 2.3.x
#                  only" message naming the version and the header;
#   CASE=none      (no UTHASH_VERSION line) configure fails saying so.
cmake_minimum_required(VERSION 3.18)

foreach(var SOURCE_DIR WORK_DIR UTHASH_H CASE)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "uthash_version.cmake: -D${var}=... is required")
    endif()
endforeach()

set(dir "${WORK_DIR}/${CASE}")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}/include")
file(READ "${UTHASH_H}" header)
if(CASE STREQUAL "none")
    set(line "")
else()
    set(line "#define UTHASH_VERSION ${CASE}")
endif()
string(REGEX REPLACE "#define UTHASH_VERSION [0-9.]+" "${line}" patched "${header}")
if(patched STREQUAL header AND NOT CASE STREQUAL "2.3.0")
    message(FATAL_ERROR "${UTHASH_H} has no UTHASH_VERSION line to replace")
endif()
file(WRITE "${dir}/include/uthash.h" "${patched}")

set(args -S "${SOURCE_DIR}" -B "${dir}/build"
    -DUTHASH_INCLUDE_DIR=${dir}/include
    -DWC_BUILD_TESTS=OFF -DWC_BUILD_EXAMPLES=OFF -DWC_BUILD_BENCH=OFF
    -DWC_BUILD_SHARED=OFF -DCMAKE_BUILD_TYPE=Release)
if(DEFINED GENERATOR AND NOT GENERATOR STREQUAL "")
    list(APPEND args -G "${GENERATOR}")
endif()
if(DEFINED C_COMPILER AND NOT C_COMPILER STREQUAL "")
    list(APPEND args -DCMAKE_C_COMPILER=${C_COMPILER})
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" ${args}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
# CMake wraps long messages: compare with all white space folded
string(REGEX REPLACE "[ \t\r\n]+" " " flat "${all}")

function(expect_text text)
    string(FIND "${flat}" "${text}" at)
    if(at EQUAL -1)
        message(FATAL_ERROR "configure output lacks \"${text}\":\n${all}")
    endif()
endfunction()

if(CASE STREQUAL "2.3.0")
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "configure against uthash 2.3.0 failed:\n${all}")
    endif()
    expect_text("uthash 2.3.0: ${dir}/include")
    execute_process(COMMAND "${CMAKE_COMMAND}" --build "${dir}/build"
                            --target weakcache_static
        RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "building against uthash 2.3.0 failed:\n${out}${err}")
    endif()
elseif(CASE STREQUAL "none")
    if(rc EQUAL 0)
        message(FATAL_ERROR "configure accepted a uthash.h without a version:\n${all}")
    endif()
    expect_text("has no '#define UTHASH_VERSION X.Y.Z' line")
    expect_text("weakcache needs uthash 2.3.x")
else()
    if(rc EQUAL 0)
        message(FATAL_ERROR "configure accepted uthash ${CASE}:\n${all}")
    endif()
    expect_text("uthash ${CASE} found in ${dir}/include/uthash.h")
    expect_text("weakcache is verified against uthash 2.3.x only")
endif()
file(REMOVE_RECURSE "${dir}")
message(STATUS "uthash ${CASE}: as expected")

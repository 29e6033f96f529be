# SPDX-License-Identifier: Apache-2.0
# Optional parts of the build (tests, benchmarks, tools, ...) as tri-state cache variables:
#
#   AUTO  build it when its dependencies are found, else skip it with one STATUS message
#   ON    build it; a missing dependency is a configure error
#   OFF   do not build it
#
# The default is AUTO when cohort is the top-level project and OFF as a subproject, so a
# plain `cmake -B build` works with only a compiler and CMake, and an explicit
# -DCOHORT_BUILD_X=ON still forces X (and says what is missing).
#
#   cohort_feature(COHORT_BUILD_TESTS "cohort's tests")
#   if(NOT COHORT_BUILD_TESTS STREQUAL "OFF")
#     find_package(GTest QUIET)
#   endif()
#   cohort_resolve_feature(COHORT_BUILD_TESTS "${GTest_FOUND}" "GoogleTest (Debian: libgtest-dev)")
#   if(COHORT_BUILD_TESTS) ...            # now a plain ON/OFF (normal variable)

# cohort_feature(<var> <doc> [DEFAULT <AUTO|ON|OFF>])
function(cohort_feature var doc)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "DEFAULT" "")
  if(NOT arg_DEFAULT)
    if(cohort_is_top)   # set by the top-level CMakeLists.txt (CMake 3.20 has no PROJECT_IS_TOP_LEVEL)
      set(arg_DEFAULT AUTO)
    else()
      set(arg_DEFAULT OFF)
    endif()
  endif()
  set(${var} "${arg_DEFAULT}" CACHE STRING "${doc}: AUTO (when its dependencies are found), ON or OFF")
  set_property(CACHE ${var} PROPERTY STRINGS AUTO ON OFF)
endfunction()

# cohort_resolve_feature(<var> <found> <what is needed>)
# Turns <var> into a normal variable ON or OFF in the caller's scope (it shadows the cache
# entry, which keeps AUTO so a later configure looks again).
function(cohort_resolve_feature var found needed)
  string(TOUPPER "${${var}}" requested)
  if(requested STREQUAL "AUTO")
    if(found)
      set(${var} ON PARENT_SCOPE)
    else()
      message(STATUS "cohort: ${var} off: ${needed} not found (-D${var}=ON makes this an error)")
      set(${var} OFF PARENT_SCOPE)
    endif()
  elseif(${var})
    if(NOT found)
      message(FATAL_ERROR "cohort: ${var}=ON needs ${needed}, which was not found")
    endif()
    set(${var} ON PARENT_SCOPE)
  else()
    set(${var} OFF PARENT_SCOPE)
  endif()
endfunction()

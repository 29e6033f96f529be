# Installs the cohort build tree into a fresh prefix, configures and builds the consumer
# project (tests/package) against it with find_package, and runs the consumer.
#
# Inputs (-D): COHORT_BUILD_DIR, CONSUMER_SOURCE_DIR, WORK_DIR, CONFIG, GENERATOR,
# CXX_COMPILER, CXX_FLAGS (the flags cohort was built with: a sanitizer build's library
# needs the same runtime in the consumer).
foreach(var COHORT_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_package_test.cmake: ${var} is not set")
  endif()
endforeach()

set(prefix "${WORK_DIR}/prefix")
set(consumer_build "${WORK_DIR}/consumer-build")
file(REMOVE_RECURSE "${prefix}" "${consumer_build}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmdline "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmdline}\n--- stdout\n${out}\n--- stderr\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

set(config_args "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()

# 1. install
step("${CMAKE_COMMAND}" --install "${COHORT_BUILD_DIR}" --prefix "${prefix}" ${config_args})
if(NOT EXISTS "${prefix}/include/cohort/cohort.hpp")
  message(FATAL_ERROR "the install has no include/cohort/cohort.hpp")
endif()
file(GLOB_RECURSE config_files "${prefix}/*/cohortConfig.cmake")
if(NOT config_files)
  message(FATAL_ERROR "the install has no cohortConfig.cmake")
endif()

# 2. configure and build the consumer against the installed package only
set(build_type_arg "")
if(CONFIG)
  set(build_type_arg "-DCMAKE_BUILD_TYPE=${CONFIG}")
endif()
step("${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${consumer_build}" -G "${GENERATOR}"
     "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
     "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" ${build_type_arg}
     -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
step("${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})

# 3. run it
find_program(consumer NAMES consumer PATHS "${consumer_build}" "${consumer_build}/${CONFIG}"
             NO_DEFAULT_PATH REQUIRED)
step("${consumer}")

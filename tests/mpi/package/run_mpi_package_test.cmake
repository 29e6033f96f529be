# SPDX-License-Identifier: Apache-2.0
# Installs the cohort build tree into a fresh prefix, builds tests/mpi/package against it
# with find_package(cohort COMPONENTS mpi), and runs the consumer under the MPI launcher.
# Inputs (-D): COHORT_BUILD_DIR, CONSUMER_SOURCE_DIR, WORK_DIR, CONFIG, GENERATOR,
# CXX_COMPILER, CXX_FLAGS, LAUNCHER (a list: the launcher and its arguments).
foreach(var COHORT_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER LAUNCHER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_mpi_package_test.cmake: ${var} is not set")
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
set(build_type_arg "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
  set(build_type_arg "-DCMAKE_BUILD_TYPE=${CONFIG}")
endif()
step("${CMAKE_COMMAND}" --install "${COHORT_BUILD_DIR}" --prefix "${prefix}" ${config_args})
file(GLOB_RECURSE mpi_targets "${prefix}/*/cohortMpiTargets.cmake")
if(NOT mpi_targets)
  message(FATAL_ERROR "the install has no cohortMpiTargets.cmake")
endif()
step("${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${consumer_build}" -G "${GENERATOR}"
     "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
     "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" ${build_type_arg}
     -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
step("${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})
find_program(consumer NAMES consumer PATHS "${consumer_build}" "${consumer_build}/${CONFIG}"
             NO_DEFAULT_PATH REQUIRED)
step(${LAUNCHER} "${consumer}")

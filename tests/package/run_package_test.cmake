# SPDX-License-Identifier: Apache-2.0
# Builds the consumer program (tests/package/main.cpp) against cohort one of three ways
# and runs it:
#   MODE=find_package      install the build tree into a fresh prefix; a CMake project
#                          (tests/package/CMakeLists.txt) finds it with find_package
#   MODE=pkg_config        install likewise; plain `c++ main.cpp $(pkg-config --cflags
#                          --libs cohort)` with PKG_CONFIG_PATH on the prefix
#   MODE=add_subdirectory  a CMake project (tests/package/subdirectory/) that adds the
#                          cohort source tree with add_subdirectory
#   MODE=deb               `cpack -G DEB` in the build tree; the packages are extracted
#                          with `dpkg-deb -x` into a temporary root (never installed into
#                          the system: that would change the machine running the tests),
#                          then find_package and pkg-config consumers build against
#                          <root>/usr; lintian, when installed, must report no error.
#
# Inputs (-D): MODE, COHORT_BUILD_DIR, COHORT_SOURCE_DIR, CONSUMER_SOURCE_DIR, WORK_DIR,
# CONFIG, GENERATOR, CXX_COMPILER, CXX_FLAGS (the flags cohort was built with: a
# sanitizer build's library needs the same runtime in the consumer), SHARED (cohort is a
# shared library: the pkg-config consumer gets an rpath), WITH_MPI (cohort::mpi was built:
# only then is include/cohort/mpi.hpp installed; the .debs never hold it).
if(NOT MODE)
  set(MODE find_package)
endif()
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
  string(STRIP "${out}" out)
  set(last_step_output "${out}" PARENT_SCOPE)
endfunction()

set(config_args "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()

separate_arguments(cxx_flags_list UNIX_COMMAND "${CXX_FLAGS}")

# cmake_consumer(<prefix>): configure, build and run tests/package against <prefix>.
function(cmake_consumer prefix build_dir)
  set(build_type_arg "")
  if(CONFIG)
    set(build_type_arg "-DCMAKE_BUILD_TYPE=${CONFIG}")
  endif()
  step("${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${build_dir}" -G "${GENERATOR}"
       "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
       "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" ${build_type_arg}
       -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
  step("${CMAKE_COMMAND}" --build "${build_dir}" ${config_args})
  find_program(consumer_exe NAMES consumer PATHS "${build_dir}" "${build_dir}/${CONFIG}"
               NO_DEFAULT_PATH NO_CACHE REQUIRED)
  step("${consumer_exe}")
endfunction()

# pkg_config_consumer(<libdir>): `c++ -std=c++20 main.cpp $(pkg-config --cflags --libs cohort)`.
function(pkg_config_consumer libdir out)
  find_program(pkg_config NAMES pkg-config pkgconf REQUIRED)
  set(ENV{PKG_CONFIG_PATH} "${libdir}/pkgconfig")
  step("${pkg_config}" --cflags cohort)
  separate_arguments(pc_cflags UNIX_COMMAND "${last_step_output}")
  step("${pkg_config}" --libs cohort)
  separate_arguments(pc_libs UNIX_COMMAND "${last_step_output}")
  set(rpath "")
  if(SHARED)
    set(rpath "-Wl,-rpath,${libdir}")
  endif()
  step("${CXX_COMPILER}" -std=c++20 ${cxx_flags_list} "${CONSUMER_SOURCE_DIR}/main.cpp"
       -o "${out}" ${pc_cflags} ${pc_libs} ${rpath})
  step("${out}")
endfunction()

if(MODE STREQUAL "add_subdirectory")
  set(build_type_arg "")
  if(CONFIG)
    set(build_type_arg "-DCMAKE_BUILD_TYPE=${CONFIG}")
  endif()
  step("${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}/subdirectory" -B "${consumer_build}"
       -G "${GENERATOR}" "-DCOHORT_SOURCE_DIR=${COHORT_SOURCE_DIR}"
       "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" ${build_type_arg})
  include(ProcessorCount)
  ProcessorCount(jobs)
  step("${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args} --parallel ${jobs})
  find_program(consumer NAMES consumer PATHS "${consumer_build}" "${consumer_build}/${CONFIG}"
               NO_DEFAULT_PATH REQUIRED)
  step("${consumer}")
  return()
endif()

if(MODE STREQUAL "deb")
  get_filename_component(cmake_dir "${CMAKE_COMMAND}" DIRECTORY)
  find_program(cpack NAMES cpack HINTS "${cmake_dir}" REQUIRED)
  find_program(dpkg_deb NAMES dpkg-deb REQUIRED)
  set(deb_dir "${WORK_DIR}/debs")
  set(root "${WORK_DIR}/root")
  file(REMOVE_RECURSE "${deb_dir}" "${root}")
  step("${cpack}" -G DEB -B "${deb_dir}" ${config_args}
       --config "${COHORT_BUILD_DIR}/CPackConfig.cmake")
  file(GLOB debs "${deb_dir}/*.deb")
  if(NOT debs)
    message(FATAL_ERROR "cpack wrote no .deb into ${deb_dir}")
  endif()
  foreach(deb IN LISTS debs)
    step("${dpkg_deb}" --info "${deb}")
    step("${dpkg_deb}" -x "${deb}" "${root}")
  endforeach()
  find_program(lintian NAMES lintian)
  if(lintian)
    # Errors fail the test; warnings are printed (see cmake/CohortPackaging.cmake).
    step("${lintian}" --fail-on error --suppress-tags-from-file
         "${COHORT_SOURCE_DIR}/cmake/lintian-suppressed-tags" ${debs})
  else()
    message(STATUS "lintian not installed: the packages are not linted")
  endif()
  if(EXISTS "${root}/usr/include/cohort/mpi.hpp")
    message(FATAL_ERROR "the packages hold cohort/mpi.hpp, but not the cohort::mpi component")
  endif()
  file(GLOB_RECURSE pc_files "${root}/*/cohort.pc")
  if(NOT pc_files)
    message(FATAL_ERROR "the packages hold no cohort.pc")
  endif()
  list(GET pc_files 0 pc_file)
  get_filename_component(pc_dir "${pc_file}" DIRECTORY)
  get_filename_component(libdir "${pc_dir}" DIRECTORY)
  cmake_consumer("${root}/usr" "${consumer_build}")
  pkg_config_consumer("${libdir}" "${WORK_DIR}/pkg-config-consumer")
  return()
endif()

# 1. install
step("${CMAKE_COMMAND}" --install "${COHORT_BUILD_DIR}" --prefix "${prefix}" ${config_args})
if(NOT EXISTS "${prefix}/include/cohort/cohort.hpp")
  message(FATAL_ERROR "the install has no include/cohort/cohort.hpp")
endif()
# The MPI component's header comes with the component only.
if(WITH_MPI AND NOT EXISTS "${prefix}/include/cohort/mpi.hpp")
  message(FATAL_ERROR "cohort::mpi was built, but the install has no include/cohort/mpi.hpp")
elseif(NOT WITH_MPI AND EXISTS "${prefix}/include/cohort/mpi.hpp")
  message(FATAL_ERROR "the install has include/cohort/mpi.hpp without the cohort::mpi component")
endif()
file(GLOB_RECURSE config_files "${prefix}/*/cohortConfig.cmake")
if(NOT config_files)
  message(FATAL_ERROR "the install has no cohortConfig.cmake")
endif()

# 2. build the consumer against the installed package only, and run it
if(MODE STREQUAL "pkg_config")
  file(GLOB_RECURSE pc_files "${prefix}/*/cohort.pc")
  if(NOT pc_files)
    message(FATAL_ERROR "the install has no cohort.pc")
  endif()
  list(GET pc_files 0 pc_file)
  get_filename_component(pc_dir "${pc_file}" DIRECTORY)
  get_filename_component(libdir "${pc_dir}" DIRECTORY)
  pkg_config_consumer("${libdir}" "${WORK_DIR}/pkg-config-consumer")
else()
  cmake_consumer("${prefix}" "${consumer_build}")
endif()

# SPDX-License-Identifier: Apache-2.0
# Debian packages: `cpack -G DEB` in the build directory (also `cpack -G TGZ`).
#   libcohort-dev   headers, the library (static build: libcohort.a), CMake and pkg-config
#                   files, cohort-trace-summary
#   libcohort0      libcohort.so.0 (shared builds only; libcohort-dev then depends on it)
#   cohort-run      the batch-job command, when it is built (COHORT_BUILD_TOOLS)
# Each package carries /usr/share/doc/<package>/copyright (Apache-2.0) and a changelog, as
# Debian policy asks; tests/package/run_deb_test.cmake builds and checks them.
set(COHORT_DEB_MAINTAINER "cohort maintainers <cohort-maintainers@lists.example.org>"
    CACHE STRING "Maintainer field of the .deb packages")

set(CPACK_PACKAGE_NAME cohort)
set(CPACK_PACKAGE_VENDOR "cohort")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPackDeb would prepend it to every package's own
# synopsis (the first line of CPACK_DEBIAN_<COMPONENT>_DESCRIPTION).
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${COHORT_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)

set(cohort_deb_components dev)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libcohort-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# A C++20 compiler and its standard library; python3 for cohort-trace-summary.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libstdc++-12-dev | libstdc++-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_RECOMMENDS "python3")
set(CPACK_DEBIAN_DEV_DESCRIPTION
"C++20 work-stealing task scheduler with task groups (development files)
cohort runs tasks on a pool of workers, each with its own lock-free Chase-Lev
deque, grouped under nursery-like scopes: the first failure cancels the
siblings, every failure is reported together, results come back in order, and
no task is left running past its scope. gather, wait, as_completed,
with_timeout and race are built on the same groups.

This package holds the headers, the library, the CMake package
(find_package(cohort)) and the pkg-config file.")

if(BUILD_SHARED_LIBS)
  list(APPEND cohort_deb_components runtime)
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libcohort${PROJECT_VERSION_MAJOR})
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
  # A shlibs file, and an ldconfig trigger (what lintian asks of a shared library package).
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)   # no per-component form in CPack 3.25
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/deb-control/triggers "activate-noawait ldconfig\n")
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_BINARY_DIR}/deb-control/triggers)
  set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
"C++20 work-stealing task scheduler with task groups (shared library)
cohort runs tasks on a pool of workers with lock-free deques, grouped under
nursery-like scopes that cancel siblings on the first failure.

This package holds the shared library.")
  set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
      "libcohort${PROJECT_VERSION_MAJOR} (= ${PROJECT_VERSION}-1), ${CPACK_DEBIAN_DEV_PACKAGE_DEPENDS}")
endif()

if(TARGET cohort-run)
  list(APPEND cohort_deb_components run)
  set(CPACK_DEBIAN_RUN_PACKAGE_NAME cohort-run)
  set(CPACK_DEBIAN_RUN_PACKAGE_SECTION utils)
  set(CPACK_DEBIAN_RUN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_RUN_DESCRIPTION
"run batch jobs in parallel on the cohort task scheduler
cohort-run reads jobs (command lines, or a template applied to input lines)
and runs them in parallel with a bounded number at a time, a job log,
time limits, halt policies and ordered output, in the manner of GNU parallel.")
endif()
set(CPACK_COMPONENTS_ALL ${cohort_deb_components})

# CPack prefixes each description line after the first with a space and turns an empty
# line into " ." (Debian policy 5.6.13).
# copyright and changelog for each package (Debian policy 12.5 and 12.7).
string(TIMESTAMP cohort_changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
foreach(component IN LISTS cohort_deb_components)
  string(TOUPPER ${component} upper)
  set(package ${CPACK_DEBIAN_${upper}_PACKAGE_NAME})
  set(doc_dir ${CMAKE_CURRENT_BINARY_DIR}/deb-doc/${package})
  file(MAKE_DIRECTORY ${doc_dir})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/deb-copyright.in ${doc_dir}/copyright @ONLY)
  file(WRITE ${doc_dir}/changelog.Debian
"${package} (${PROJECT_VERSION}-1) unstable; urgency=medium

  * Package built from the cohort source tree.

 -- ${COHORT_DEB_MAINTAINER}  ${cohort_changelog_date}
")
  # gzip -9n: reproducible (no name or time stamp inside), as lintian asks.
  add_custom_command(OUTPUT ${doc_dir}/changelog.Debian.gz
    COMMAND gzip -9nc ${doc_dir}/changelog.Debian > ${doc_dir}/changelog.Debian.gz
    DEPENDS ${doc_dir}/changelog.Debian VERBATIM)
  list(APPEND cohort_deb_docs ${doc_dir}/changelog.Debian.gz)
  install(FILES ${doc_dir}/copyright ${doc_dir}/changelog.Debian.gz
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package} COMPONENT ${component}
          EXCLUDE_FROM_ALL)
endforeach()
add_custom_target(cohort_deb_docs ALL DEPENDS ${cohort_deb_docs})

include(CPack)

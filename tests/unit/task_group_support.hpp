// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the task_group tests (task_group_join_test, task_group_cancel_test).
#pragma once

#include <cohort/cohort.hpp>

namespace cohort_test {

// How a nested group's join ended, seen from inside the child that owns it.
enum class join_end { none, returned, group_error, timeout, cancelled, other };

inline join_end classify(cohort::task_group& g) {
  try {
    g.join();
    return join_end::returned;
  } catch (const cohort::task_group_error&) {
    return join_end::group_error;
  } catch (const cohort::timeout_error&) {
    return join_end::timeout;
  } catch (const cohort::task_cancelled&) {
    return join_end::cancelled;
  } catch (...) {
    return join_end::other;
  }
}

}  // namespace cohort_test

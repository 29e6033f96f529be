// SPDX-License-Identifier: Apache-2.0
// A command with no shell syntax (plain words of safe characters, no builtin, no
// assignment) is exec'd directly, as xargs does, instead of paying for /bin/sh -c.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cohort_run {

// The argv to exec for `command`, or nullopt when it needs /bin/sh -c.
std::optional<std::vector<std::string>> direct_argv(const std::string& command);

}  // namespace cohort_run

// SPDX-License-Identifier: Apache-2.0
// stats() and dump(): the read side of observability.
#pragma once

#include <string>

#include <cohort/scheduler.hpp>

namespace cohort::detail {

class pool;
scheduler_stats collect_stats(pool& p);
std::string render_dump(pool& p);

}  // namespace cohort::detail

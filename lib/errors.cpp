// SPDX-License-Identifier: Apache-2.0
#include <cohort/errors.hpp>

#include <typeinfo>

#include <cohort/detail/failure.hpp>

namespace cohort {

std::string describe_exception(const std::exception_ptr& e) {
  if (!e) return "no exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (const std::string& s) {
    return "std::string thrown: " + s;
  } catch (const char* s) {
    return std::string("string literal thrown: ") + s;
  } catch (int v) {
    return "int thrown: " + std::to_string(v);
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

task_group_error::task_group_error(std::vector<std::exception_ptr> errors,
                                   std::vector<std::string> names, std::size_t tasks_total,
                                   std::string_view unit) {
  names.resize(errors.size());  // one name per error, "" where the caller had none
  std::string msg = std::to_string(errors.size()) + " of " + std::to_string(tasks_total) + " ";
  msg += unit;
  msg += tasks_total == 1 ? " failed" : "s failed";
  if (!errors.empty()) {
    msg += "; first: ";
    if (!names.front().empty()) msg += names.front() + ": ";
    msg += describe_exception(errors.front());
  }
  errors_ = std::make_shared<const std::vector<std::exception_ptr>>(std::move(errors));
  names_ = std::make_shared<const std::vector<std::string>>(std::move(names));
  what_ = std::make_shared<const std::string>(std::move(msg));
}

std::span<const std::exception_ptr> task_group_error::exceptions() const noexcept {
  return {errors_->data(), errors_->size()};
}

std::span<const std::string> task_group_error::names() const noexcept {
  return {names_->data(), names_->size()};
}

const char* task_group_error::what() const noexcept {
  return what_->c_str();
}

const char* task_cancelled::what() const noexcept {
  return "cohort: task cancelled";
}

const char* timeout_error::what() const noexcept {
  return "cohort: deadline passed";
}

}  // namespace cohort

namespace cohort::detail {

bool is_cancellation(const std::exception_ptr& e) noexcept {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const task_cancelled&) {
    return true;
  } catch (...) {
    return false;
  }
}

run_outcome capture_current_exception(std::exception_ptr& error) noexcept {
  error = std::current_exception();
  return is_cancellation(error) ? run_outcome::cancelled : run_outcome::failed;
}

void throw_group_error(std::vector<std::exception_ptr> errors, std::size_t total) {
  throw task_group_error(std::move(errors), {}, total);
}

}  // namespace cohort::detail

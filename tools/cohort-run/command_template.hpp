// SPDX-License-Identifier: Apache-2.0
// Replacement strings: COMMAND compiled once, rendered per job.
//   {} the input (all sources, space-separated)  {N} the N-th source
//   {.} without extension  {/} basename  {//} dirname  {/.} basename without extension
//   (each also positional: {2.} {2/} {2//} {2/.})  {#} sequence number  {%} slot
// Values are shell-quoted (as GNU parallel does), so an input with spaces or ';' stays
// one word. With no replacement string, the input is appended; with no COMMAND, the input
// itself is the command (not quoted). Anything else in braces ({foo}, ${HOME}) is text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace cohort_run {

class command_template {
 public:
  // nullopt with `error` set for a positional replacement string past the sources ({3}
  // with two ::: sources) or {0}.
  static std::optional<command_template> compile(const std::vector<std::string>& words,
                                                 std::size_t sources, std::string& error);

  std::string render(const std::vector<std::string>& args, std::size_t seq, std::size_t slot) const;

 private:
  enum class part_kind { text, value, seq, slot };
  enum class transform { whole, no_extension, basename, dirname, basename_no_extension };
  struct part {
    part_kind kind = part_kind::text;
    std::string text;
    std::size_t source = 0;  // 1-based; 0: all sources
    transform how = transform::whole;
  };
  std::vector<part> parts_;
  bool input_is_command_ = false;
  bool append_input_ = false;
};

// How GNU parallel quotes a value for /bin/sh: as is when only safe characters, else in
// single quotes.
std::string shell_quote(const std::string& value);

}  // namespace cohort_run

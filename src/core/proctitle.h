// The process title: what /proc/PID/cmdline, ps and `pgrep -f` show for this process.
//
// OMR's omr-schedule restarts an interface's tracker when `pgrep -f IFACE` finds no process
// (reference §1.3, §8.1 item 11); the shell ran one `omr-tracker IFACE` per interface. The
// daemon names the interfaces it tracks in its title instead, e.g.
// "/usr/sbin/omr-trackerd wan1 wan2 omrvpn", and sets it again after each reload.
//
// Two methods, tried in this order:
//  - prctl(PR_SET_MM_ARG_START/ARG_END) pointing the kernel at a buffer of our own (needs
//    CAP_SYS_RESOURCE, which the daemon has as root under procd): argv-shaped (words
//    separated by NUL bytes, argv[0] kept). The first such title claims 1 KiB (more if it
//    is longer); later titles are written into it without a system call, so they keep
//    working after the daemon dropped root. /proc/PID/cmdline then ends in NUL padding,
//    which ps and pgrep ignore;
//  - in place, like BSD setproctitle(): overwrite the original argv strings and, past them,
//    the environment strings that follow them in memory (moved to the heap first). The title
//    is bounded by that block (capacity()); a title longer than the argv strings becomes one
//    space-separated string, which the kernel shows up to its first NUL byte. Only whole
//    words are kept when it has to be cut, so `pgrep -f wan1` never matches a cut "wan12".
//
// Single-threaded use only (the daemon's loop). Everything it allocates lives as long as
// the process.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace core {

enum class ProcTitleMethod { none, prctl, in_place };
const char *proctitle_method_name(ProcTitleMethod m); // "none", "prctl", "in-place"

// Call first in main(), before getopt() and before anything keeps a pointer into argv or
// environ: copies their strings to the heap and re-points argv[i], environ,
// program_invocation_name and program_invocation_short_name there, so they all keep
// working when the original block is overwritten. Later calls do nothing.
void proctitle_init(int argc, char **argv);

// Makes the command line read as argv[0] followed by |words| (e.g. the tracked interface
// names). Empty words are skipped; a word holding a space or a NUL would merge or split
// words and is cut at the first one. Returns the method that worked, none when
// proctitle_init() was not called or nothing could be written. Safe to call again at any
// time; a later title replaces the earlier one completely.
ProcTitleMethod proctitle_set(const std::vector<std::string> &words);

// Bytes available to the in-place method, the final NUL included (0 before init).
size_t proctitle_inplace_capacity();

// Tests: skip the prctl method, as an unprivileged process would.
void proctitle_force_in_place(bool on);

} // namespace core

// Prometheus text exposition (format 0.0.4) of omr-trackerd's status document, for
// `omr-trackerctl metrics` (stdout, or a file for prometheus-node-exporter-lua's textfile
// collector). Pure: a JSON document in, text out.
//
// Families (labels in braces; a family without any sample is left out):
//   omrt_up                                    1 when the daemon answered (0: see down_text)
//   omrt_build_info{version}                   1
//   omrt_interface_up{interface}               1 OK, 0 ERROR or UNKNOWN
//   omrt_interface_state{interface,state}      1 for the current state of OK|ERROR|UNKNOWN
//   omrt_interface_info{interface,device,reason} 1
//   omrt_interface_latency_seconds{interface}  omitted while not measured (JSON null)
//   omrt_interface_loss_ratio{interface}       0..1, same
//   omrt_interface_jitter_seconds{interface}   same
//   omrt_interface_transitions_total{interface}
//   omrt_interface_last_change_timestamp_seconds{interface}   status "since"
//   omrt_server_up / _state / _info{server,host,reason,role} / _current
//   omrt_server_transitions_total / _last_change_timestamp_seconds
//   omrt_server_checks_total / _failovers_total{server}   servers.X.checks, .failovers
//   omrt_server_interface_up / _rtt_seconds{server,interface}   servers.X.wans[] (ok, rtt_ms)
//   omrt_server_dns_queries_total / _failures_total{server}   servers.X.dns {queries, failures}
//        or, from omr-trackerd's list servers.X.dns [{entry, resolvers: [{queries_a,
//        queries_aaaa, failures, changes}]}]: omrt_server_dns_queries_total and
//        omrt_server_dns_changes_total (sums), omrt_server_dns_consecutive_failures (worst)
//   omrt_server_api_checks_total{server}       servers.X.api.checks, else servers.X.api_checks
//   omrt_server_api_check_failures_total{server}, omrt_server_api_latency_seconds{server}
//        servers.X.api.failures, servers.X.api.latency_ms (not written yet)
//   (each only when the document has the field, as a number >= 0)
//   omrt_process_cpu_seconds_total, omrt_process_resident_memory_bytes, omrt_process_open_fds,
//   omrt_loop_lag_seconds, omrt_uptime_seconds, omrt_status_file_writes_total,
//   omrt_status_file_write_error               from "daemon"
#pragma once

#include <string>
#include <string_view>

namespace core {
class JsonValue;
}

namespace ctl {

// The whole exposition for status document |st|. Fields that are absent or of the wrong
// type are skipped, never guessed.
std::string metrics_text(const core::JsonValue &st);

// The exposition when the daemon could not be asked: only omrt_up 0, so that a textfile
// collector does not keep serving the last good numbers as if they were current.
std::string metrics_down_text();

// Label value escaping of the format: backslash, double quote and line feed.
std::string prom_escape_label(std::string_view v);

} // namespace ctl

#include "api/client.h"

#include "api/token.h"
#include "core/json.h"
#include "core/str.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>

namespace api {

namespace {

void replace_all(std::string &s, const std::string &what, const char *with)
{
    if (what.empty())
        return;
    size_t pos = 0;
    while ((pos = s.find(what, pos)) != std::string::npos) {
        s.replace(pos, what.size(), with);
        pos += std::strlen(with);
    }
}

// The address in a /clienthost reply, "::ffff:" of a v4-mapped address stripped.
bool clienthost_address(const std::string &body, std::string &out, std::string *err)
{
    core::JsonValue v;
    core::JsonLimits lim;
    lim.max_depth = 4;
    lim.max_elements = 64;
    if (!core::json_parse(body, v, err, lim))
        return false;
    const std::string *h = v.get_string("client_host");
    if (!h) {
        if (err)
            *err = "no client_host";
        return false;
    }
    std::string a = *h;
    if (a.size() > 7 && (a.compare(0, 7, "::ffff:") == 0 || a.compare(0, 7, "::FFFF:") == 0) &&
        a.find('.') != std::string::npos)
        a.erase(0, 7);
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, a.c_str(), buf) != 1 && inet_pton(AF_INET6, a.c_str(), buf) != 1) {
        if (err)
            *err = "client_host is not an address";
        return false;
    }
    out = a;
    return true;
}

} // namespace

const char *check_kind_name(CheckKind k)
{
    switch (k) {
    case CheckKind::health:
        return "health";
    case CheckKind::token:
        return "token";
    case CheckKind::status:
        return "status";
    case CheckKind::clienthost:
        return "clienthost";
    }
    return "?";
}

ApiClient::ApiClient(core::Loop &loop, const omrt::Clock &clock, TlsPolicy &tls, SharedToken *token)
    : clock_(clock), tls_(tls), token_(token ? token : &own_token_), conn_(loop, clock, tls)
{}

void ApiClient::configure(const ApiConfig &cfg)
{
    bool new_target = cfg.target != cfg_.target;
    bool new_credentials = cfg.username != cfg_.username || cfg.password != cfg_.password;
    if (new_target || new_credentials)
        cancel();
    if (new_target)
        conn_.disconnect();
    if (new_credentials)
        token_->clear();
    cfg_ = cfg;
}

bool ApiClient::has_token() const
{
    return !token_->token.empty() && clock_.mono_us() < token_->usable_until_us;
}

bool ApiClient::check(CheckKind kind, Callback cb, void *ctx)
{
    if (busy())
        return false;
    kind_ = kind;
    cb_ = cb;
    cb_ctx_ = ctx;
    result_ = CheckResult();
    result_.kind = kind;
    started_us_ = clock_.mono_us();
    deadline_us_ = started_us_ + int64_t(cfg_.timeouts.total_ms) * 1000;
    token_fresh_ = false;
    renewed_ = false;
    switch (kind) {
    case CheckKind::health:
        start(Step::get_root);
        break;
    case CheckKind::clienthost:
        start(Step::get_clienthost);
        break;
    case CheckKind::token:
        start(Step::post_token);
        break;
    case CheckKind::status:
        start(has_token() ? Step::get_status : Step::post_token);
        break;
    }
    return true;
}

void ApiClient::cancel()
{
    if (!busy())
        return;
    conn_.disconnect();
    step_ = Step::none;
    cb_ = nullptr;
}

const char *ApiClient::via() const
{
    const Target &t = cfg_.target;
    if (!t.via.empty())
        return t.via.c_str();
    return t.device.empty() ? "default route" : t.device.c_str();
}

void ApiClient::start(Step s)
{
    step_ = s;
    const Target &t = cfg_.target;
    std::string host = host_port(t.sni.empty() ? t.host : t.sni, t.port);
    std::string extra;
    if (cfg_.timeouts.idle_ms == 0)
        extra = "Connection: close\r\n";
    const char *method = "GET";
    const char *path = nullptr;
    const char *content_type = "";
    std::string body;
    switch (s) {
    case Step::get_root:
        path = "/";
        break;
    case Step::get_clienthost:
        path = "/clienthost";
        break;
    case Step::post_token:
        method = "POST";
        path = "/token";
        content_type = "application/x-www-form-urlencoded";
        body = form_encode({{"username", cfg_.username}, {"password", cfg_.password}});
        break;
    case Step::get_status:
        path = "/status";
        used_token_ = token_->token;
        extra += "Authorization: Bearer ";
        extra += token_->token;
        extra += "\r\n";
        break;
    case Step::none:
        return;
    }
    std::string req = http_request(method, path, host, extra, content_type, body);
    std::fill(body.begin(), body.end(), '\0');
    result_.requests++;
    conn_.exchange(t, std::move(req), cfg_.timeouts, deadline_us_, cfg_.limits,
                   core::member<ApiClient, &ApiClient::on_exchange>, this);
}

std::string ApiClient::status_text(const HttpResponse &r) const
{
    std::string detail = api_error_detail(r.body);
    if (detail.empty())
        detail = printable(r.reason, 60);
    return detail.empty() ? core::strprintf("HTTP %d", r.status)
                          : core::strprintf("HTTP %d %s", r.status, detail.c_str());
}

void ApiClient::on_exchange()
{
    ExchangeResult &x = conn_.result();
    result_.reused |= x.reused;
    result_.resumed |= x.resumed;
    result_.clock_unsynced |= x.clock_unsynced;
    if (x.reason != omrt::Reason::ok)
        return finish(x.reason, x.message);
    const HttpResponse &r = x.response;
    result_.http_status = r.status;
    switch (step_) {
    case Step::get_root:
        if (r.status == 200)
            return finish(omrt::Reason::ok, core::strprintf("API answers via %s", via()));
        return finish_status(r, "/");
    case Step::get_clienthost: {
        if (r.status != 200)
            return finish_status(r, "/clienthost");
        std::string err;
        if (!clienthost_address(r.body, result_.client_host, &err))
            return finish(omrt::Reason::http_bad_response,
                          core::strprintf("bad /clienthost reply from API via %s: %s", via(),
                                          err.c_str()));
        return finish(omrt::Reason::ok, core::strprintf("public address %s via %s",
                                                        result_.client_host.c_str(), via()));
    }
    case Step::post_token:
        return on_token_reply(r);
    case Step::get_status: {
        if (r.status == 401 || r.status == 403) {
            if (token_fresh_ || renewed_)
                return finish(omrt::Reason::api_auth_rejected,
                              core::strprintf("API rejected a new token (%s) via %s",
                                              status_text(r).c_str(), via()));
            // The API restarted (new secret) or the token expired: get another one,
            // unless another client of this server already did.
            renewed_ = true;
            result_.token_renewed = true;
            if (token_->token == used_token_)
                token_->clear();
            return start(has_token() ? Step::get_status : Step::post_token);
        }
        if (r.status != 200)
            return finish_status(r, "/status");
        core::JsonValue v;
        std::string err;
        if (!core::json_parse(r.body, v, &err))
            return finish(omrt::Reason::http_bad_response,
                          core::strprintf("invalid JSON from API for /status via %s: %s", via(),
                                          err.c_str()));
        return finish(omrt::Reason::ok,
                      core::strprintf("API status OK via %s%s", via(),
                                      result_.token_renewed ? " (token renewed)" : ""));
    }
    case Step::none:
        return;
    }
}

void ApiClient::on_token_reply(const HttpResponse &r)
{
    if (r.status == 200) {
        std::string token;
        std::string err;
        if (!parse_token_reply(r.body, token, &err))
            return finish(
                    omrt::Reason::http_bad_response,
                    core::strprintf("invalid token reply from API via %s: %s", via(), err.c_str()));
        token_->token = std::move(token);
        token_->usable_until_us =
                clock_.mono_us() + token_usable_us(token_->token, clock_.wall_us());
        token_fresh_ = true;
        if (kind_ == CheckKind::status)
            return start(Step::get_status);
        return finish(omrt::Reason::ok, core::strprintf("token obtained via %s", via()));
    }
    bool refused = r.status == 400 || r.status == 401 || r.status == 403 || r.status == 422;
    finish(refused ? omrt::Reason::api_auth_rejected : omrt::Reason::http_status,
           core::strprintf(refused ? "token refused by API (%s) via %s"
                                   : "token request failed (%s) via %s",
                           status_text(r).c_str(), via()));
}

std::string ApiClient::redact(std::string s) const
{
    // The messages are built from fixed text, addresses and server replies; none should
    // hold a secret, but a server may echo one back. Short passwords would mangle
    // unrelated text, and are not worth hiding from a message they cannot be found in.
    if (cfg_.password.size() >= 4) {
        replace_all(s, cfg_.password, "***");
        replace_all(s, url_encode(cfg_.password), "***");
    }
    replace_all(s, token_->token, "***");
    replace_all(s, used_token_, "***");
    return s;
}

void ApiClient::finish_status(const HttpResponse &r, const char *path)
{
    finish(omrt::Reason::http_status, core::strprintf("API answered %s to GET %s via %s",
                                                      status_text(r).c_str(), path, via()));
}

void ApiClient::finish(omrt::Reason reason, std::string message)
{
    result_.ok = reason == omrt::Reason::ok;
    result_.reason = reason;
    result_.message = redact(std::move(message));
    result_.elapsed_us = clock_.mono_us() - started_us_;
    step_ = Step::none;
    Callback cb = cb_;
    cb_ = nullptr;
    CheckResult r = std::move(result_); // on the stack: the callback may destroy *this
    if (cb)
        cb(cb_ctx_, r); // last statement
}

} // namespace api

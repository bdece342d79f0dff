#pragma once
// Settings of the Redis client: a plain struct with documented defaults.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include "common/secure_memory.hpp"
#include "redis/logger.hpp"

namespace sessiond::redis {

// A Redis node or sentinel: an IP literal (IPv6 without brackets) or a DNS
// name, resolved again at every connection attempt, and a port.
struct endpoint {
    std::string host;
    std::uint16_t port = 0;
    friend auto operator<=>(const endpoint&, const endpoint&) = default;
};
// "host:port", "[v6]:port" (logs, metrics, the node table).
std::string to_string(const endpoint& e);

// How Redis is deployed, which decides where each command goes.
enum class topology {
    standalone,  // one instance (or a managed endpoint that fails over behind one address)
    sentinel,    // primary and replicas watched by sentinels: commands go to the primary
    cluster,     // Redis Cluster: each key's slot is served by one primary
};
std::string_view to_string(topology t) noexcept;

struct config {
    topology mode = topology::standalone;

    // Standalone: where.
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;

    // Sentinel: the sentinels asked for the primary, tried in order. Cluster:
    // seed nodes, asked for the slot map until one answers.
    std::vector<endpoint> seeds;
    // Sentinel: the name the sentinels monitor the primary under.
    std::string master_name;
    // Sentinel: the sentinels' own credentials (sentinel requirepass or an ACL
    // user on the sentinels); empty = no AUTH. The data nodes use user/password.
    std::string sentinel_user;
    secret_string sentinel_password;
    // Sentinel and Cluster: how often the primary is asked again of a sentinel,
    // or the slot map of the cluster, even without a sign of change (a missed
    // +switch-master, a resharding). 0 = only on a sign of change.
    std::chrono::milliseconds topology_refresh{5000};
    // The shortest time between two map refreshes or primary lookups, however
    // many errors ask for one.
    std::chrono::milliseconds min_refresh_interval{100};

    // Authentication. Empty user with a password = "AUTH password" (requirepass or
    // the default ACL user); user and password = "AUTH user password"; empty
    // password = no AUTH. `password_file`, when not empty, replaces `password`
    // with the file's content (trailing newlines removed); it is read once, by the
    // client's constructor or load_password_file(), never on an I/O thread.
    // The password is kept on key-material pages and wiped with the config.
    std::string user;
    secret_string password;
    std::string password_file;

    // SELECT db after connecting; 0 = Redis' default database, no SELECT sent.
    int db = 0;

    // TLS (rediss://). The CA file verifies the server; empty = the system's
    // default trust store. Client certificate and key are optional (both or
    // neither). The server name checked against the certificate (DNS or IP SAN)
    // and sent as SNI defaults to `host`. tls_verify = false disables all
    // verification: for development only.
    bool tls = false;
    std::string tls_ca_file;
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_server_name;
    bool tls_verify = true;

    // Connections kept open to the instance. 0 = one per I/O thread (the count
    // passed to the client's constructor).
    std::size_t connections = 0;

    // TCP connect + TLS handshake + AUTH/SELECT/SETNAME must finish within this.
    // 0 = no limit (not recommended).
    std::chrono::milliseconds connect_timeout{1000};

    // A command without a reply after this fails with error::timeout and its
    // connection is reset (a reply that late means the connection or the server
    // is stuck). Checked by a periodic tick of max(5 ms, min(100 ms, timeout/8)),
    // so a timeout fires between command_timeout and command_timeout + tick.
    // 0 = no limit (not recommended).
    std::chrono::milliseconds command_timeout{500};

    // Commands sent but not yet answered, per connection, plus those queued to
    // be sent. Past it, commands fail at once with error::busy. 0 = no limit
    // (not recommended).
    std::size_t max_in_flight = 4096;

    // Reconnection delay: doubles from min to max after each failed attempt, with
    // jitter (a random value between half and all of it); reset by a success.
    std::chrono::milliseconds reconnect_min{50};
    std::chrono::milliseconds reconnect_max{2000};

    // A connection with nothing pending and no traffic for this long sends PING
    // (its reply is subject to command_timeout). 0 = never.
    std::chrono::milliseconds ping_interval{1000};

    // CLIENT SETNAME after connecting; empty = not sent. A refusal (NOPERM) is
    // logged and ignored.
    std::string client_name = "sessiond";

    // Durable writes: after each write (create, rotate, revoke), WAIT for
    // this many replicas to acknowledge it within wait_timeout; fewer is
    // error::not_acknowledged (the write is on the primary, and may be lost
    // in a failover). 0 = off.
    unsigned wait_replicas = 0;
    std::chrono::milliseconds wait_timeout{200};

    // Receives the connections' events (see logger.hpp). Empty = silent.
    logger log;
};

// Parses redis://[[user]:password@ | password@]host[:port][/db] and rediss://…
// (TLS). A lone userinfo (redis://secret@host) is the password, as in the
// Redis URI convention. user and password are percent-decoded; an IPv6 host is written [::1]. Port
// defaults to 6379, db to 0. Fields not in the URL keep config{}'s defaults.
//
// Sentinel: redis+sentinel://[userinfo@]host[:port][,host[:port]…]/master-name[/db]
// (rediss+sentinel:// with TLS to sentinels and data nodes alike): the hosts are
// sentinels (port 26379 by default), the userinfo the data nodes' credentials.
// Cluster: redis+cluster://[userinfo@]host[:port][,host[:port]…] (rediss+cluster://),
// seed nodes; no database (a cluster has only database 0).
//
// Errors: error::bad_url_scheme, bad_url_host, bad_url_port, bad_url_db,
// bad_url_encoding, bad_url (also: no master name, a list of hosts for a
// standalone URL).
boost::system::result<config> parse_url(std::string_view url);

// Replaces cfg.password with the content of cfg.password_file (if set), trailing
// "\n"/"\r\n" removed. Blocking file I/O: call at start-up only. Returns the
// errno-based error of opening or reading the file.
boost::system::error_code load_password_file(config& cfg);

}  // namespace sessiond::redis

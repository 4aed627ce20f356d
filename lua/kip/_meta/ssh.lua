---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.ssh"` (core/src/bind/l_ssh.c over core/src/net/ssh*.c on
-- libssh). Never loaded; for editors and docs.

---@class kip.ssh
local ssh = {}

---@class kip.ssh.connect_opts
---@field host string name or address; required
---@field port? integer default 22
---@field user? string default "root"
---@field key_file? string private key: ed25519, ecdsa or rsa, OpenSSH or PEM format
---@field key_passphrase? string for an encrypted key_file; never in messages
---@field agent? boolean also try ssh-agent's keys (default true)
---@field agent_socket? string default $SSH_AUTH_SOCK
---@field known_hosts string OpenSSH known_hosts file (plain or hashed); required; need not exist
---@field accept_unknown_host_key? boolean record an unknown host key and go on (default false)
---@field accept_fingerprint? string record an unknown host key only if its fingerprint is this "SHA256:..." (the one a person confirmed); another unknown key fails with "hostkey-unknown"
---@field connect_timeout? number seconds for TCP connect, then each wait of handshake and authentication (default 10)
---@field io_timeout? number seconds to wait for any reply once connected (default 60)
---@field keepalive? number seconds of silence before a keepalive@openssh.com request while a call waits; 0: none (default 30)

---@class kip.ssh.details
---@field fingerprint? string hostkey-*: "SHA256:..." of the server's key, as ssh-keygen -l prints it
---@field key_type? string hostkey-*: "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"
---@field known_hosts? string hostkey-changed: the file holding the old key
---@field line? integer hostkey-changed: its line
---@field allowed? string[] auth: the methods the server allows ("publickey", "password", ...)

---@class kip.ssh.result
---@field status integer|nil exit status; nil when a signal ended the command
---@field signal string|nil "TERM", "KILL", ... when a signal ended it
---@field ok boolean status == 0
---@field stdout string
---@field stderr string

---@class kip.ssh.key_info
---@field type string "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
---@field fingerprint string|nil "SHA256:..."; nil for an encrypted PEM key without passphrase or .pub
---@field encrypted boolean
---@field private boolean the file holds a private key

---@class kip.ssh.Session
local Session = {} -- luacheck: ignore 241 (methods are declared, never called)

---@class kip.ssh.Channel
local Channel = {} -- luacheck: ignore 241

---Connects, checks the host key against known_hosts and authenticates (key_file, then ssh-agent).
---Raises for missing host or known_hosts and wrong option types.
---@param opts kip.ssh.connect_opts
---@return kip.ssh.Session|nil session
---@return string? message "ssh root@host:22: what happened" (never a passphrase)
---@return string? code "connect", "timeout", "hostkey-unknown", "hostkey-changed", "passphrase", "auth", "io", "notfound", "permission", "invalid"
---@return kip.ssh.details? details for hostkey-unknown, hostkey-changed and auth
function ssh.connect(opts) end

---The fingerprint of an OpenSSH public key line ("ssh-ed25519 AAAA... comment").
---@param public_key string
---@return string|nil fingerprint "SHA256:..."
---@return string type_or_message "ssh-ed25519", or the message
---@return string? code "invalid"
function ssh.fingerprint(public_key) end

---Describes a key file (private or public) without prompting.
---@param path string
---@param opts? {passphrase?: string}
---@return kip.ssh.key_info|nil info
---@return string? message
---@return string? code "notfound", "permission", "invalid", "passphrase"
function ssh.load_key_info(path, opts) end

---Runs command (through the user's login shell) on a new channel and waits for it.
---@param command string
---@param opts? {stdin?: string, timeout?: number, max_output?: integer}
---@return kip.ssh.result|nil result any exit status is a result
---@return string? message
---@return string? code "timeout" (the command was killed), "nomem" (max_output), "io"
---@return kip.ssh.result? partial the output so far, for "timeout" and "nomem"
function Session:exec(command, opts) end

---Starts command on a new channel; read its output with channel:read or channel:lines.
---@param command string
---@param opts? {timeout?: number} seconds for the whole command; then it is killed
---@return kip.ssh.Channel|nil channel
---@return string? message
---@return string? code "io"
function Session:open(command, opts) end

---Writes data to remote_path over SFTP: a temporary file in the same folder, exactly mode,
---then renamed over remote_path.
---@param remote_path string
---@param data string
---@param opts? {mode?: integer|string, parents?: boolean} mode: 420 or "0644" (default); parents: create missing folders
---@return true|nil ok
---@return string? message
---@return string? code "notfound", "permission", "invalid", "io"
function Session:upload(remote_path, data, opts) end

---Reads remote_path over SFTP.
---@param remote_path string
---@param opts? {max_size?: integer} bytes (default 64 MiB)
---@return string|nil data
---@return string? message
---@return string? code "notfound", "permission", "invalid", "nomem", "io"
function Session:download(remote_path, opts) end

---@return string fingerprint "SHA256:..." of the server's host key
---@return string key_type "ssh-ed25519", ...
function Session:fingerprint() end

---Disconnects; open channels are aborted. Idempotent; also on __gc/__close.
function Session:close() end

---Sends data to the command's standard input (waits while the server's window is full).
---@param data string
---@return true|nil ok
---@return string? message
---@return string? code "io", "timeout"
function Channel:write(data) end

---Sends EOF on the command's standard input. Idempotent.
---@return true|nil ok
---@return string? message
---@return string? code
function Channel:close_stdin() end

---The next event: "stdout"/"stderr", chunk; "idle" when wait seconds passed without output;
---"exit", status|nil, signal|nil once the command ended; nil after that; or nil, message, code.
---@param wait? number seconds (default: until something happens)
---@return "stdout"|"stderr"|"idle"|"exit"|nil kind
---@return string|integer|nil data chunk, exit status, or the message
---@return string|nil signal_or_code
function Channel:read(wait) end

---Iterator like read, but over whole lines (without "\n"): for kind, line in ch:lines(1) do ... end.
---Yields "idle" when wait seconds pass without a line, ends after "exit"; raises on failures.
---@param wait? number
---@return fun(): ("stdout"|"stderr"|"idle"|"exit"|nil), (string|integer|nil), string?
function Channel:lines(wait) end

---Kills the command if it still runs, and closes the channel. Idempotent; also on __gc/__close.
function Channel:close() end

return ssh

/**
 * The socket front door: JSON-RPC over a private Unix socket, one session per
 * connection, bounded while reading.
 *
 * @module
 */
export { RpcServer } from "./rpc_server.ts";
export { prepareSocketPath } from "./socket_path.ts";

//! passlink's own HTTP/1.1 server, on `std::net`, `mio` and `httparse`.
//!
//! Why not a library: tiny_http aborts the process on a huge unread `Content-Length` and has
//! no timeouts or header limits; hyper answers an HTTP/1.0 request with an `HTTP/1.0` status
//! line, which the OpenSRS PHP client rejects. Here the status line is always `HTTP/1.1` and
//! every response has a `Content-Length`.

pub mod budget;
pub mod client;
mod server;
mod stats;
pub mod tls;
pub mod wire;

pub use budget::{Budget, Hold, Refusal};
pub use client::{Cidr, Client, ClientIpHeader};
pub use server::{
    BodyLimit, Listener, Server, ServerOptions, ShutdownHandle, Socket, bind, bind_unix,
};
pub use stats::Stats;
pub use tls::{TlsAcceptor, TlsError};
pub use wire::{Request, Response, Version};

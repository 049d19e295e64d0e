//! xmlStorageSystem, the UserLand community-server storage API: the methods, shared by the
//! XML-RPC (`/RPC2`) and SOAP (`/xmlStorageSystem`) endpoints (whose HTTP half is
//! `endpoints::xmlstorage`). Methods take and return typed values and know nothing of XML;
//! the codecs know nothing of methods.
//!
//! - [`dispatch`]: the method table and the call that runs one.
//! - [`args`]: a call's parameters bound to a method's.
//! - [`introspect`]: `system.listMethods`, `system.methodHelp`, `system.methodSignature`.
//! - [`methods`]: the methods.
//! - [`env`]: what the methods work with and how they stop.
//! - [`notify`]: rssCloud registrations and the callback thread.
//! - [`weblog`] and [`changes`]: the weblogUpdates log and its `changes.xml`.

pub mod args;
pub mod changes;
pub mod dispatch;
pub mod env;
pub mod introspect;
pub mod methods;
pub mod notify;
pub mod weblog;

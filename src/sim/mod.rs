//! The Graph simulator: an in-memory stand-in for Microsoft Graph and Entra's token endpoint.

/** Codes raised by the daemon (forgeoned) and the API server it runs. */
export const daemonErrorCodes = {
  FORGE_DAEMON_ADDRESS_IN_USE:
    'Another process already listens on the host and port; pick another --port or stop that process.',
  FORGE_DAEMON_ACCESS_DENIED:
    'The daemon may not listen on that port (below 1024 needs privileges); pick a port of 1024 or more.',
  FORGE_DAEMON_ADDRESS_UNAVAILABLE:
    'The --host address is not one of this machine; give a local address such as 127.0.0.1.',
  FORGE_DAEMON_LISTEN_FAILED: 'The daemon could not listen on the host and port; the message has the reason.',
  FORGE_DAEMON_TLS_OPTIONS:
    'The TLS flags do not go together (a certificate needs its key; a client CA needs both); give them as a set.',
  FORGE_DAEMON_TLS_INVALID:
    "A TLS file does not load: unreadable, not PEM, or the key is not the certificate's.",
} as const;

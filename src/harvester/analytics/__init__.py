"""Pure metrics over returns and trades; imports only ``domain`` and ``core``."""

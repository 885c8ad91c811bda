"""The running server: network, clients, the dispatcher (the one choke point), cron."""

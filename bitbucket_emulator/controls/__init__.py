"""What tests and benchmarks switch at run time (`switches`: latency, rate limits, faults, request counts, lost
webhook deliveries), its `/_emulator/` HTTP API (`api`) and the webhook deliveries it can disturb (`webhooks`)."""

"""Network threat detection: flows, readers, features, models, rules and the detection service."""

"""JMeter plans for fileserver, the runner that starts them N times, and the JTL report."""

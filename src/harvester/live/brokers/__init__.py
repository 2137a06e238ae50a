"""Brokers behind one port (:class:`~harvester.live.brokers.base.Broker`)."""

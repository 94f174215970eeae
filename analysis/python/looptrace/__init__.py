"""looptrace: record, analyse and report on component event-loop systems traced with LTTng."""

__version__ = "0.1.0"

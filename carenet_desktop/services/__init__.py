"""Use cases: one function per thing a screen or the command line asks for (no Qt here).

Services own sessions and transactions, write the audit trail and report progress through a callback.
"""

from .context import Progress, ServiceContext, ServiceError

__all__ = ["Progress", "ServiceContext", "ServiceError"]

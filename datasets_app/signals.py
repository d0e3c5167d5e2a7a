"""Events other apps react to. Receivers call one service; they hold no logic of their own.

``contribution_rejected`` is sent inside the moderator's transaction (kwargs ``contribution``,
``actor``, ``reason``): payments reverses the unpaid rewards the contribution earned, so the
rejection and the reversal commit together or not at all.
"""

from django.dispatch import Signal

contribution_rejected = Signal()

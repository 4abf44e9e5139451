"""Django's messages middleware with the storage made only when a request uses it.

``MessageMiddleware`` builds each request's storage up front: a fallback of cookie and session storage, with a
cookie signer whose key is derived anew every time (1.8 % of the web's CPU for a website form, whose two API requests
never show a message). Here ``request._messages`` is a lazy object: the admin's "was changed successfully" and the
messages the templates read make it as before; a request that never touches it builds nothing and, at the response,
has nothing to store (what Django's own ``update`` would find: no message added, none read).
"""

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty


class LazyMessageMiddleware(MessageMiddleware):
    """``django.contrib.messages.middleware.MessageMiddleware`` (a subclass, as the admin's check asks), lazily."""

    def process_request(self, request) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response  # never used: nothing added, nothing read, nothing to store
        return super().process_response(request, response)

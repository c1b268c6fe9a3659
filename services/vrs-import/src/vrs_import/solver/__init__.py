"""The routing solver's API (the Yandex Routing MVRP shape): its wire models and an HTTP client."""

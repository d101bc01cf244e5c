"""Payment provider adapters behind ``services.payments.PaymentGateway`` (docs/payments.md)."""

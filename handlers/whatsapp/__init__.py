"""WhatsApp Cloud API: webhook payloads, rendering, the Graph API sender."""

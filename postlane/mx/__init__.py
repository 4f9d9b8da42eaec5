"""The receiving side (role `inbound`): the MX of the bounce domain, where delivery status
notifications and abuse reports about delivered mail come back."""

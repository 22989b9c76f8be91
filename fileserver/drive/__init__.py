"""The Drive adapter: ``client`` (DriveClient, DriveFile), ``credentials`` (keys to google-auth
credentials), ``errors`` (typed errors), ``retry`` and ``media``. Import the module you need:
this package imports nothing, so a function that only checks keys does not load the API
client."""

"""The Dockerfile side of an image: its instructions (:mod:`.parse`) and which one made each layer (:mod:`.match`)."""

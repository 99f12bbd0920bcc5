"""Model providers behind one interface (`base.ModelClient`), and the scripted fakes (`scripted`)."""

"""Write paths of the datagen app: submit, set up, work chunks, finish, resume, chunk logs."""

"""What the book's site serves itself (mermaid, fonts): npm packages and the script that vendors them."""

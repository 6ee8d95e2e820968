"""Referees for gradients: SymPy's exact derivative, finite differences and PyTorch, and one comparison
policy (`oracles.compare`) that says who disagrees with the engine, by how much, and which node is to blame.
"""
